namespace FlowFleet.Runtime.Scripting;

/// <summary>Node's <c>path</c> functions with POSIX semantics (path.posix), as scripts on a Linux server see them.</summary>
internal static class PosixPath
{
    public static string Normalize(string path)
    {
        if (path.Length == 0)
        {
            return ".";
        }
        var absolute = path.StartsWith('/');
        var trailing = path.EndsWith('/');
        var result = Segments(path, absolute);
        if (result.Length == 0 && !absolute)
        {
            result = ".";
        }
        if (result.Length > 0 && trailing)
        {
            result += "/";
        }
        return absolute ? "/" + result : result;
    }

    public static string Join(IEnumerable<string> parts)
    {
        var joined = string.Join("/", parts.Where(p => p.Length > 0));
        return joined.Length == 0 ? "." : Normalize(joined);
    }

    public static string Resolve(IEnumerable<string> parts, string cwd)
    {
        var resolved = "";
        foreach (var p in parts.Reverse().Where(p => p.Length > 0))
        {
            resolved = resolved.Length == 0 ? p : p + "/" + resolved;
            if (p.StartsWith('/'))
            {
                break;
            }
        }
        if (!resolved.StartsWith('/'))
        {
            resolved = cwd + "/" + resolved;
        }
        return "/" + Segments(resolved, absolute: true);
    }

    public static string Basename(string path, string? ext)
    {
        var trimmed = path.TrimEnd('/');
        if (trimmed.Length == 0)
        {
            return "";
        }
        var name = trimmed[(trimmed.LastIndexOf('/') + 1)..];
        return ext is { Length: > 0 } && name.Length > ext.Length && name.EndsWith(ext, StringComparison.Ordinal) ? name[..^ext.Length] : name;
    }

    public static string Dirname(string path)
    {
        if (path.Length == 0)
        {
            return ".";
        }
        var trimmed = path.TrimEnd('/');
        if (trimmed.Length == 0)
        {
            return "/";
        }
        var slash = trimmed.LastIndexOf('/');
        if (slash < 0)
        {
            return ".";
        }
        var dir = trimmed[..slash].TrimEnd('/');
        return dir.Length == 0 ? "/" : dir;
    }

    public static string Extname(string path)
    {
        var name = Basename(path, null);
        var dot = name.LastIndexOf('.');
        return dot <= 0 ? "" : name[dot..];
    }

    /// <summary>The segments without <c>.</c>, empty ones and resolved <c>..</c> (kept at the start of a relative path).</summary>
    private static string Segments(string path, bool absolute)
    {
        var stack = new List<string>();
        foreach (var s in path.Split('/'))
        {
            if (s.Length == 0 || s == ".")
            {
                continue;
            }
            if (s == "..")
            {
                if (stack.Count > 0 && stack[^1] != "..")
                {
                    stack.RemoveAt(stack.Count - 1);
                }
                else if (!absolute)
                {
                    stack.Add("..");
                }
                continue;
            }
            stack.Add(s);
        }
        return string.Join("/", stack);
    }
}

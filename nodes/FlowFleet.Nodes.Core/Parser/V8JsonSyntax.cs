namespace FlowFleet.Nodes.Core.Parser;

/// <summary>
/// Checks text against <c>JSON.parse</c>'s grammar and words a syntax error as V8 (Node.js 20+) does, since flows match
/// on <c>msg.error.message</c> and Node-RED's json node reports V8's text. System.Text.Json is still what parses.
/// </summary>
/// <remarks>Strict like JSON.parse: no comments, no trailing commas, no single quotes.</remarks>
public static class V8JsonSyntax
{
    private const int MaxContext = 10;

    /// <summary>Null when <paramref name="text"/> is valid JSON; otherwise V8's message.</summary>
    public static string? Check(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var p = new Scanner(text);
        try
        {
            p.SkipWhitespace();
            p.Value(0);
            p.SkipWhitespace();
            if (p.Pos < text.Length)
            {
                return $"Unexpected non-whitespace character after JSON at position {p.Pos}";
            }
            return null;
        }
        catch (SyntaxError e)
        {
            return e.Message;
        }
    }

    private sealed class SyntaxError(string message) : Exception(message);

    private sealed class Scanner(string text)
    {
        public int Pos;

        private char? Peek => Pos < text.Length ? text[Pos] : null;

        public void SkipWhitespace()
        {
            while (Pos < text.Length && text[Pos] is ' ' or '\t' or '\n' or '\r')
            {
                Pos++;
            }
        }

        private SyntaxError At(string what) => new($"{what} in JSON at position {Pos}");

        private SyntaxError Unexpected()
        {
            if (Pos >= text.Length)
            {
                return new SyntaxError("Unexpected end of JSON input");
            }
            var token = text[Pos].ToString();
            if (text.Length < MaxContext * 2 + 1)
            {
                return new SyntaxError($"Unexpected token '{token}', \"{text}\" is not valid JSON");
            }
            var start = Math.Max(0, Pos - MaxContext);
            var end = Math.Min(text.Length, Pos + MaxContext);
            var context = text[start..end];
            var before = start > 0 ? "..." : "";
            var after = end < text.Length ? "..." : "";
            return new SyntaxError($"Unexpected token '{token}', {before}\"{context}\"{after} is not valid JSON");
        }

        public void Value(int depth)
        {
            if (depth > 1000)
            {
                throw new SyntaxError("Maximum call stack size exceeded");
            }
            switch (Peek)
            {
                case '{':
                    Object(depth);
                    break;
                case '[':
                    Array(depth);
                    break;
                case '"':
                    String();
                    break;
                case '-' or (>= '0' and <= '9'):
                    Number();
                    break;
                case 't':
                    Literal("true");
                    break;
                case 'f':
                    Literal("false");
                    break;
                case 'n':
                    Literal("null");
                    break;
                default:
                    throw Unexpected();
            }
        }

        private void Object(int depth)
        {
            Pos++;
            SkipWhitespace();
            if (Peek == '}')
            {
                Pos++;
                return;
            }
            if (Peek != '"')
            {
                throw At("Expected property name or '}'");
            }
            while (true)
            {
                String();
                SkipWhitespace();
                if (Peek != ':')
                {
                    throw At("Expected ':' after property name");
                }
                Pos++;
                SkipWhitespace();
                Value(depth + 1);
                SkipWhitespace();
                if (Peek == '}')
                {
                    Pos++;
                    return;
                }
                if (Peek != ',')
                {
                    throw At("Expected ',' or '}' after property value");
                }
                Pos++;
                SkipWhitespace();
                if (Peek != '"')
                {
                    throw At("Expected double-quoted property name");
                }
            }
        }

        private void Array(int depth)
        {
            Pos++;
            SkipWhitespace();
            if (Peek == ']')
            {
                Pos++;
                return;
            }
            while (true)
            {
                Value(depth + 1);
                SkipWhitespace();
                if (Peek == ']')
                {
                    Pos++;
                    return;
                }
                if (Peek != ',')
                {
                    throw At("Expected ',' or ']' after array element");
                }
                Pos++;
                SkipWhitespace();
            }
        }

        private void String()
        {
            Pos++;
            while (true)
            {
                if (Pos >= text.Length)
                {
                    throw At("Unterminated string");
                }
                var c = text[Pos];
                if (c == '"')
                {
                    Pos++;
                    return;
                }
                if (c < 0x20)
                {
                    throw At("Bad control character in string literal");
                }
                if (c == '\\')
                {
                    Pos++;
                    switch (Peek)
                    {
                        case '"' or '\\' or '/' or 'b' or 'f' or 'n' or 'r' or 't':
                            Pos++;
                            break;
                        case 'u':
                            for (var i = 1; i <= 4; i++)
                            {
                                if (Pos + i >= text.Length || !Uri.IsHexDigit(text[Pos + i]))
                                {
                                    Pos += i;
                                    throw At("Bad Unicode escape");
                                }
                            }
                            Pos += 5;
                            break;
                        case null:
                            throw Unexpected();
                        default:
                            throw At("Bad escaped character");
                    }
                    continue;
                }
                Pos++;
            }
        }

        private void Number()
        {
            if (Peek == '-')
            {
                Pos++;
                if (Peek is not (>= '0' and <= '9'))
                {
                    throw At("No number after minus sign");
                }
            }
            if (Peek == '0')
            {
                Pos++;
            }
            else
            {
                Digits();
            }
            if (Peek == '.')
            {
                Pos++;
                if (Peek is not (>= '0' and <= '9'))
                {
                    throw At("Unterminated fractional number");
                }
                Digits();
            }
            if (Peek is 'e' or 'E')
            {
                Pos++;
                if (Peek is '+' or '-')
                {
                    Pos++;
                }
                if (Peek is not (>= '0' and <= '9'))
                {
                    throw At("Exponent part is missing a number");
                }
                Digits();
            }
        }

        private void Digits()
        {
            while (Peek is >= '0' and <= '9')
            {
                Pos++;
            }
        }

        private void Literal(string word)
        {
            foreach (var c in word)
            {
                if (Peek != c)
                {
                    throw Unexpected();
                }
                Pos++;
            }
        }
    }
}

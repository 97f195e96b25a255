using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Runtime.Nodes;

/// <summary>The node types this process can run, keyed by type (and alias).</summary>
public sealed class NodeRegistry
{
    private readonly ConcurrentDictionary<string, NodeDescriptor> _types = new(StringComparer.Ordinal);

    public IEnumerable<NodeDescriptor> All => _types.Values.Distinct().OrderBy(d => d.Category, StringComparer.Ordinal).ThenBy(d => d.Type, StringComparer.Ordinal);

    public bool TryGet(string type, out NodeDescriptor descriptor) => _types.TryGetValue(type, out descriptor!);

    public NodeDescriptor? Find(string type) => _types.GetValueOrDefault(type);

    /// <summary>
    /// Adds a node type under its type key and aliases. A key that is taken is refused with an error naming both modules:
    /// a plugin cannot silently replace a built-in type (or another plugin's).
    /// </summary>
    /// <exception cref="InvalidOperationException">The type key or an alias is already registered.</exception>
    public void Register(NodeDescriptor descriptor, params string[] aliases)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        ArgumentNullException.ThrowIfNull(aliases);
        lock (_types)
        {
            CheckFree([(descriptor, aliases)]);
            Add(descriptor, aliases);
        }
    }

    /// <summary>The module name of a node assembly: <c>FlowFleet.Nodes.Core</c> is "core", <c>FlowFleet.Nodes.Fleet</c> "fleet".</summary>
    public static string ModuleOf(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var name = assembly.GetName().Name ?? "core";
        return name.StartsWith("FlowFleet.Nodes.", StringComparison.Ordinal) ? name["FlowFleet.Nodes.".Length..].ToLowerInvariant() : name;
    }

    /// <summary>
    /// Registers every <see cref="FlowNode"/> class carrying <see cref="NodeTypeAttribute"/> in the assembly under
    /// <paramref name="module"/> (by default <see cref="ModuleOf"/>). All or nothing: if one type key is taken, none is added.
    /// </summary>
    /// <exception cref="InvalidOperationException">A type key or alias is already registered (or declared twice).</exception>
    public NodeRegistry RegisterAssembly(Assembly assembly, string? module = null)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        module ??= ModuleOf(assembly);
        var found = new List<(NodeDescriptor, string[])>();
        foreach (var t in assembly.GetTypes())
        {
            if (!t.IsAbstract && typeof(FlowNode).IsAssignableFrom(t) && t.GetCustomAttribute<NodeTypeAttribute>() is { } attr)
            {
                found.Add((Describe(t, attr, module), attr.Aliases));
            }
        }
        lock (_types)
        {
            CheckFree(found);
            foreach (var (d, aliases) in found)
            {
                Add(d, aliases);
            }
        }
        return this;
    }

    public NodeRegistry Register<TNode>(string module = "core") where TNode : FlowNode
    {
        var attr = typeof(TNode).GetCustomAttribute<NodeTypeAttribute>()
            ?? throw new InvalidOperationException($"{typeof(TNode).Name} has no [NodeType]");
        Register(Describe(typeof(TNode), attr, module), attr.Aliases);
        return this;
    }

    private void CheckFree(IEnumerable<(NodeDescriptor Descriptor, string[] Aliases)> adding)
    {
        var keys = new Dictionary<string, NodeDescriptor>(StringComparer.Ordinal);
        foreach (var (d, aliases) in adding)
        {
            foreach (var key in aliases.Prepend(d.Type))
            {
                if (_types.TryGetValue(key, out var existing) || keys.TryGetValue(key, out existing))
                {
                    throw new InvalidOperationException(
                        $"Node type '{key}' of module '{d.Module}' is already registered by module '{existing.Module}' ({existing.Type}); it is not replaced");
                }
                keys[key] = d;
            }
        }
    }

    private void Add(NodeDescriptor descriptor, string[] aliases)
    {
        _types[descriptor.Type] = descriptor;
        foreach (var a in aliases)
        {
            _types[a] = descriptor;
        }
    }

    public static NodeDescriptor Describe(Type nodeType, NodeTypeAttribute attr, string module)
    {
        ArgumentNullException.ThrowIfNull(nodeType);
        ArgumentNullException.ThrowIfNull(attr);
        var configType = ConfigTypeOf(nodeType);
        var ctor = nodeType.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        // Looked up once per type, not once per node built.
        var parameters = ctor.GetParameters();
        var configProperty = configType is null ? null : nodeType.GetProperty(nameof(FlowNode<object>.Config));
        return EditorHints.Checked(new NodeDescriptor
        {
            Type = attr.Type,
            Category = attr.Category,
            Inputs = attr.Inputs,
            Outputs = attr.Outputs,
            Color = attr.Color,
            Icon = attr.Icon,
            PaletteLabel = attr.PaletteLabel,
            LabelProperty = attr.LabelProperty,
            OutputsProperty = attr.OutputsProperty,
            OutputLabels = attr.OutputLabels,
            Align = attr.Align,
            Button = EditorHints.Button(attr.Button, attr.ButtonProperty, attr.Type),
            Label = EditorHints.LabelFunction(nodeType),
            Help = attr.Help,
            Module = module,
            Properties = configType is null ? [] : DescribeProperties(configType),
            Create = ctx => Build(ctor, parameters, configType, configProperty, ctx),
        });
    }

    private static Type? ConfigTypeOf(Type t)
    {
        for (var b = t; b is not null; b = b.BaseType)
        {
            if (b.IsGenericType && b.GetGenericTypeDefinition() == typeof(FlowNode<>))
            {
                return b.GetGenericArguments()[0];
            }
        }
        return null;
    }

    private static List<PropertyDescriptor> DescribeProperties(Type configType)
    {
        var list = new List<PropertyDescriptor>();
        foreach (var p in configType.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetCustomAttribute<NodePropertyAttribute>() is not { } a)
            {
                continue;
            }
            var name = p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(p.Name);
            list.Add(new PropertyDescriptor(name, a.Default is null ? null : JsonNode.Parse(a.Default), a.Required,
                EditorHints.Ui(a.UiHint, a.Rules, $"{configType.Name}.{p.Name}"), a.Label,
                a.Options, a.TypeProperty, a.Types, a.ConfigType, a.Language, a.Secret, a.Help, a.Rules, a.OutputPerRule));
        }
        return list;
    }

    private static FlowNode Build(ConstructorInfo ctor, ParameterInfo[] parameters, Type? configType, PropertyInfo? configProperty, NodeFactoryContext ctx)
    {
        object? config = null;
        if (configType is not null)
        {
            try
            {
                config = (ctx.ConfigJson.IsEmpty
                    ? ctx.Config.Deserialize(configType, LenientJson.Options)
                    : JsonSerializer.Deserialize(ctx.ConfigJson.Span, configType, LenientJson.Options)) ?? Activator.CreateInstance(configType);
            }
            catch (JsonException ex)
            {
                throw new InvalidOperationException($"Invalid configuration: {ex.Message}", ex);
            }
        }
        var args = new object?[parameters.Length];
        for (var i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            args[i] = p.ParameterType == typeof(INodeHost) ? ctx.Host :
                configType is not null && p.ParameterType == configType ? config :
                p.ParameterType == typeof(JsonObject) ? ctx.Config :
                p.HasDefaultValue ? ctx.Services.GetService(p.ParameterType) ?? p.DefaultValue :
                ctx.Services.GetRequiredService(p.ParameterType);
        }
        // The node's own exception, with its own stack (not wrapped in TargetInvocationException, not rethrown from here).
        var node = (FlowNode)ctor.Invoke(BindingFlags.DoNotWrapExceptions, binder: null, args, culture: null);
        node.Node = ctx.Host;
        if (config is not null)
        {
            configProperty?.SetValue(node, config);
        }
        return node;
    }
}

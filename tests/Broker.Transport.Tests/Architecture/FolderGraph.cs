using System.Reflection;
using System.Reflection.Emit;

namespace Broker.Transport.Tests.Architecture;

/// <summary>
/// The library's folders (one namespace each) and which of them uses which, read from the compiled assembly:
/// base types, interfaces, fields, properties, events, method signatures, generic arguments and every type,
/// method and field token in the method bodies (lambdas and async state machines included, since they are
/// nested types of the type they were written in). <c>using</c> lines would miss fully qualified names and
/// count unused imports; the IL shows what the code really touches.
/// </summary>
internal static class FolderGraph
{
    /// <summary>The name the graph gives the root namespace's types (the exception family and shared vocabulary).</summary>
    public const string RootFolder = "(root)";

    private const string RootNamespace = "Broker.Transport";
    private const string Root = RootNamespace + ".";

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>Folder -> the folders it uses, each with one example reference ("Type -> Type").</summary>
    public static SortedDictionary<string, SortedDictionary<string, string>> Read(Assembly assembly)
    {
        var edges = new SortedDictionary<string, SortedDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var type in assembly.GetTypes())
        {
            var from = FolderOf(type);
            if (from is null)
            {
                continue;
            }

            if (!edges.TryGetValue(from, out var targets))
            {
                edges[from] = targets = new SortedDictionary<string, string>(StringComparer.Ordinal);
            }

            foreach (var used in Uses(type))
            {
                var to = FolderOf(used);
                if (to is not null && to != from && !targets.ContainsKey(to))
                {
                    targets[to] = $"{Outermost(type).Name} -> {Outermost(used).Name}";
                }
            }
        }

        return edges;
    }

    /// <summary>The folder a type belongs to: its outermost declaring type's namespace, below the root.</summary>
    public static string? FolderOf(Type type)
    {
        var ns = Outermost(type).Namespace;
        if (ns == RootNamespace)
        {
            return RootFolder;
        }

        if (ns is null || !ns.StartsWith(Root, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = ns[Root.Length..];
        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? rest : rest[..dot];
    }

    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        return type;
    }

    private static IEnumerable<Type> Uses(Type type)
    {
        const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance |
                                 BindingFlags.Static | BindingFlags.DeclaredOnly;
        var found = new List<Type>();
        if (type.BaseType is not null)
        {
            found.Add(type.BaseType);
        }

        found.AddRange(type.GetInterfaces());
        foreach (var field in type.GetFields(All))
        {
            found.Add(field.FieldType);
        }

        foreach (var property in type.GetProperties(All))
        {
            found.Add(property.PropertyType);
        }

        foreach (var @event in type.GetEvents(All))
        {
            found.AddRange(@event.EventHandlerType is { } handler ? [handler] : []);
        }

        var methods = type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All));
        foreach (var method in methods)
        {
            if (method is MethodInfo info)
            {
                found.Add(info.ReturnType);
            }

            found.AddRange(method.GetParameters().Select(p => p.ParameterType));
            found.AddRange(BodyUses(type, method));
        }

        return found.SelectMany(Flatten);
    }

    private static IEnumerable<Type> Flatten(Type type)
    {
        if (type.HasElementType)
        {
            foreach (var inner in Flatten(type.GetElementType()!))
            {
                yield return inner;
            }

            yield break;
        }

        if (type.IsGenericParameter)
        {
            yield break;
        }

        yield return type;
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            foreach (var argument in type.GetGenericArguments().SelectMany(Flatten))
            {
                yield return argument;
            }
        }
    }

    private static List<Type> BodyUses(Type type, MethodBase method)
    {
        var found = new List<Type>();
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            return found;
        }

        var typeArguments = type.IsGenericType ? type.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var at = 0;
        while (at < il.Length)
        {
            short value = il[at] == 0xFE ? (short)(0xFE00 | il[at + 1]) : il[at];
            at += il[at] == 0xFE ? 2 : 1;
            var opCode = OpCodesByValue[value];
            switch (opCode.OperandType)
            {
                case OperandType.InlineMethod:
                case OperandType.InlineField:
                case OperandType.InlineType:
                case OperandType.InlineTok:
                    var token = BitConverter.ToInt32(il, at);
                    var member = method.Module.ResolveMember(token, typeArguments, methodArguments);
                    switch (member)
                    {
                        case Type t:
                            found.Add(t);
                            break;
                        case MethodBase m:
                            found.Add(m.DeclaringType!);
                            if (m.IsGenericMethod)
                            {
                                found.AddRange(m.GetGenericArguments());
                            }

                            break;
                        case FieldInfo f:
                            found.Add(f.DeclaringType!);
                            found.Add(f.FieldType);
                            break;
                    }

                    at += 4;
                    break;
                case OperandType.InlineSwitch:
                    at += 4 + (4 * BitConverter.ToInt32(il, at));
                    break;
                case OperandType.InlineI8:
                case OperandType.InlineR:
                    at += 8;
                    break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar:
                    at += 1;
                    break;
                case OperandType.InlineVar:
                    at += 2;
                    break;
                case OperandType.InlineNone:
                    break;
                default:
                    at += 4;
                    break;
            }
        }

        return found;
    }
}

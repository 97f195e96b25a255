using Tmds.DBus.Protocol;

namespace FlowFleet.Fleet.Ble.BlueZ;

/// <summary>Properties of one interface of one object, as BlueZ reports them.</summary>
internal sealed class DBusProps : Dictionary<string, VariantValue>
{
    public DBusProps() : base(StringComparer.Ordinal)
    {
    }
}

/// <summary>Calls into <c>org.bluez</c> and readers for the shapes BlueZ uses (a{oa{sa{sv}}}, a{sv}, ay).</summary>
internal static class BlueZBus
{
    public const string Service = "org.bluez";
    public const string AdapterInterface = "org.bluez.Adapter1";
    public const string DeviceInterface = "org.bluez.Device1";
    public const string CharacteristicInterface = "org.bluez.GattCharacteristic1";
    public const string ServiceInterface = "org.bluez.GattService1";
    public const string ObjectManager = "org.freedesktop.DBus.ObjectManager";
    public const string Properties = "org.freedesktop.DBus.Properties";

    public delegate void BodyWriter(ref MessageWriter writer);

    public static async Task<T> CallAsync<T>(DBusConnection connection, string path, string iface, string member, string? signature, BodyWriter? body, MessageValueReader<T> reader)
    {
        MessageBuffer message;
        var writer = connection.GetMessageWriter();
        try
        {
            writer.WriteMethodCallHeader(Service, path, iface, member, signature, MessageFlags.None);
            body?.Invoke(ref writer);
            message = writer.CreateMessage();
        }
        finally
        {
            writer.Dispose();
        }
        return await connection.CallMethodAsync(message, reader, null).ConfigureAwait(false);
    }

    public static Task<bool> CallAsync(DBusConnection connection, string path, string iface, string member, string? signature = null, BodyWriter? body = null) =>
        CallAsync(connection, path, iface, member, signature, body, static (_, _) => true);

    public static void EmptyOptions(ref MessageWriter w) => w.WriteDictionary(new Dictionary<string, VariantValue>());

    public static Task<Dictionary<string, Dictionary<string, DBusProps>>> ManagedObjectsAsync(DBusConnection connection) =>
        CallAsync(connection, "/", ObjectManager, "GetManagedObjects", null, null, static (m, _) =>
        {
            var r = m.GetBodyReader();
            var result = new Dictionary<string, Dictionary<string, DBusProps>>(StringComparer.Ordinal);
            var end = r.ReadDictionaryStart();
            while (r.HasNext(end))
            {
                r.AlignStruct();
                var path = r.ReadObjectPathAsString();
                result[path] = ReadInterfaces(ref r);
            }
            return result;
        });

    public static Dictionary<string, DBusProps> ReadInterfaces(ref Reader r)
    {
        var result = new Dictionary<string, DBusProps>(StringComparer.Ordinal);
        var end = r.ReadDictionaryStart();
        while (r.HasNext(end))
        {
            r.AlignStruct();
            var name = r.ReadString();
            result[name] = ReadProps(ref r);
        }
        return result;
    }

    public static DBusProps ReadProps(ref Reader r)
    {
        var props = new DBusProps();
        var end = r.ReadDictionaryStart();
        while (r.HasNext(end))
        {
            r.AlignStruct();
            var key = r.ReadString();
            props[key] = r.ReadVariantValue();
        }
        return props;
    }

    public static byte[] ReadBytes(Message m, object? _)
    {
        var r = m.GetBodyReader();
        return r.ReadArrayOfByte();
    }

    public static VariantValue Unwrap(VariantValue v) => v.Type == VariantValueType.Variant ? v.GetVariantValue() : v;

    public static string? String(DBusProps props, string key) => props.TryGetValue(key, out var v) && Unwrap(v) is { Type: VariantValueType.String } s ? s.GetString() : null;

    public static int? Int(DBusProps props, string key) => props.TryGetValue(key, out var v) && Unwrap(v) is var u && u.Type is VariantValueType.Int16 or VariantValueType.Int32 or VariantValueType.UInt16
        ? u.Type switch { VariantValueType.Int16 => u.GetInt16(), VariantValueType.UInt16 => u.GetUInt16(), _ => u.GetInt32() }
        : null;

    public static bool? Bool(DBusProps props, string key) => props.TryGetValue(key, out var v) && Unwrap(v) is { Type: VariantValueType.Bool } b ? b.GetBool() : null;

    public static byte[]? Bytes(DBusProps props, string key) => props.TryGetValue(key, out var v) && Unwrap(v) is { Type: VariantValueType.Array } a ? a.GetArray<byte>() : null;

    /// <summary>ManufacturerData a{qv}: company id → bytes.</summary>
    public static Dictionary<ushort, byte[]>? Manufacturer(DBusProps props)
    {
        if (!props.TryGetValue("ManufacturerData", out var v) || Unwrap(v) is not { Type: VariantValueType.Dictionary } d)
        {
            return null;
        }
        var result = new Dictionary<ushort, byte[]>();
        for (var i = 0; i < d.Count; i++)
        {
            var (key, value) = d.GetDictionaryEntry(i);
            result[Unwrap(key).GetUInt16()] = Unwrap(value).GetArray<byte>();
        }
        return result;
    }

    /// <summary>A D-Bus failure as a BLE failure users can act on.</summary>
    public static BleException Explain(Exception ex, string what) => ex switch
    {
        DBusErrorReplyException { ErrorName: "org.freedesktop.DBus.Error.AccessDenied" } e => new BleException($"{what}: permission denied by D-Bus ({e.ErrorMessage}); run as a member of the bluetooth group", ex),
        DBusErrorReplyException { ErrorName: "org.freedesktop.DBus.Error.ServiceUnknown" } => new BleException($"{what}: BlueZ (bluetoothd) is not running", ex),
        DBusErrorReplyException e => new BleException($"{what}: {e.ErrorName}: {e.ErrorMessage}", ex),
        _ => new BleException($"{what}: {ex.Message}", ex),
    };
}

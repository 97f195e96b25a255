using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

/// <summary>
/// Ingest headroom: raw websocket devices (no simulator logic: frames are encoded and masked up front) send
/// <c>NotifyStatus</c> at stepped total rates; the server's processed events/s and CPU are read per step. The devices
/// answer the server's identity RPCs and pings like real ones. <c>--batch K</c> writes K frames per send (K = 1: one frame
/// per TCP write, as devices do; a larger K takes the load generator's own per-write kernel cost out of the figure).
/// </summary>
internal static class IngestBench
{
    public static async Task<int> RunAsync(Dictionary<string, string> opts)
    {
        var server = new Uri(opts.GetValueOrDefault("server", "http://127.0.0.1:7011"));
        var pid = int.Parse(opts.GetValueOrDefault("pid", "0"), CultureInfo.InvariantCulture);
        var count = int.Parse(opts.GetValueOrDefault("devices", "2000"), CultureInfo.InvariantCulture);
        var batch = int.Parse(opts.GetValueOrDefault("batch", "1"), CultureInfo.InvariantCulture);
        var stepSeconds = int.Parse(opts.GetValueOrDefault("step-seconds", "15"), CultureInfo.InvariantCulture);
        var rates = opts.GetValueOrDefault("rates", "20000,40000,60000,80000,100000,120000").Split(',').Select(r => int.Parse(r, CultureInfo.InvariantCulture)).ToArray();
        using var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(30) };

        var devices = new List<RawDevice>(count);
        var connect = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var d = new RawDevice(i, batch);
            await d.ConnectAsync(server.Host, server.Port);
            devices.Add(d);
            if ((i + 1) % 500 == 0 || i + 1 == count)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{connect.Elapsed.TotalSeconds,5:F0}s] connected {i + 1}/{count}"));
            }
        }
        for (var t = 0; t < 120; t++)
        {
            var s = await http.GetFromJsonAsync<JsonObject>("/api/fleet/stats");
            if ((long)s!["online"]!.GetValue<double>() >= count)
            {
                break;
            }
            await Task.Delay(500);
        }
        // Identity reads (four RPCs per device) settle before measuring.
        await Task.Delay(3000);

        // Warm-up at the first rate (JIT tiering), not reported.
        var warmup = int.Parse(opts.GetValueOrDefault("warmup-seconds", "10"), CultureInfo.InvariantCulture);
        await Task.Run(() => Send(devices, rates[0], batch, TimeSpan.FromSeconds(warmup)));
        await Task.Delay(1000);
        Console.WriteLine($"{count} devices online; {batch} frame(s) per write; {stepSeconds} s per step after {warmup} s of warm-up");
        Console.WriteLine("offered/s   sent/s  processed/s  server_cores  driver_cores  machine_idle");
        foreach (var rate in rates)
        {
            var s0 = await http.GetFromJsonAsync<JsonObject>("/api/fleet/stats");
            var e0 = (long)s0!["eventsProcessed"]!.GetValue<double>();
            var (cpu0, self0) = (ProcFs.CpuSeconds(pid), ProcFs.CpuSeconds(Environment.ProcessId));
            var (idle0, total0) = ProcFs.MachineTimes();
            var clock = Stopwatch.StartNew();
            var sent = await Task.Run(() => Send(devices, rate, batch, TimeSpan.FromSeconds(stepSeconds)));
            var s1 = await http.GetFromJsonAsync<JsonObject>("/api/fleet/stats");
            var elapsed = clock.Elapsed.TotalSeconds;
            var e1 = (long)s1!["eventsProcessed"]!.GetValue<double>();
            var (idle1, total1) = ProcFs.MachineTimes();
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{rate,9} {sent / elapsed,8:F0} {(e1 - e0) / elapsed,12:F0} {(ProcFs.CpuSeconds(pid) - cpu0) / elapsed,13:F2} {(ProcFs.CpuSeconds(Environment.ProcessId) - self0) / elapsed,13:F2} {100.0 * (idle1 - idle0) / Math.Max(1, total1 - total0),12:F0}%");
            Console.WriteLine(line);
            // Let the server drain what the step left queued.
            await Task.Delay(2000);
        }
        foreach (var d in devices)
        {
            d.Dispose();
        }
        return 0;
    }

    /// <summary>Sends at <paramref name="rate"/> frames a second for the duration, round-robin over the devices; returns frames sent.</summary>
    private static long Send(List<RawDevice> devices, int rate, int batch, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        long sent = 0;
        var next = 0;
        while (clock.Elapsed < duration)
        {
            var due = (long)(clock.Elapsed.TotalSeconds * rate);
            if (sent + batch > due)
            {
                Thread.Sleep(1);
                continue;
            }
            while (sent + batch <= due && clock.Elapsed < duration)
            {
                devices[next].SendBatch();
                sent += batch;
                next = (next + 1) % devices.Count;
            }
        }
        return sent;
    }

    /// <summary>One device on a raw socket: masked frames prepared up front, a reader that answers RPCs and pings.</summary>
    private sealed class RawDevice(int index, int batch) : IDisposable
    {
        private readonly string _id = $"shellyplus1pm-1f{index:x10}";
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        private readonly Lock _write = new();
        private byte[][] _batches = [];
        private int _turn;

        public async Task ConnectAsync(string host, int port)
        {
            await _socket.ConnectAsync(host, port);
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            await _socket.SendAsync(Encoding.ASCII.GetBytes($"GET /shelly HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: json-rpc\r\n\r\n"));
            var head = new byte[1024];
            var n = 0;
            while (!Encoding.ASCII.GetString(head, 0, n).Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var r = await _socket.ReceiveAsync(head.AsMemory(n));
                if (r == 0)
                {
                    throw new IOException("Server closed during the handshake");
                }
                n += r;
            }
            if (!Encoding.ASCII.GetString(head, 0, n).StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
            {
                throw new IOException("Handshake refused: " + Encoding.ASCII.GetString(head, 0, n));
            }
            // Two alternating batches with different readings, so every report changes the stored status.
            _batches = [Batch(0), Batch(1)];
            Send(Frame(Encoding.UTF8.GetBytes("{\"src\":\"" + _id + "\",\"dst\":\"flowfleet\",\"method\":\"NotifyFullStatus\",\"params\":{\"ts\":" + Now() + ",\"sys\":{\"mac\":\"1F" + index.ToString("X10", CultureInfo.InvariantCulture) + "\",\"uptime\":1},\"switch:0\":{\"id\":0,\"output\":true,\"apower\":50.0,\"voltage\":230.0,\"current\":0.2,\"aenergy\":{\"total\":1000.0}}}}")));
            _ = Task.Run(ReadAsync);
        }

        private byte[] Batch(int variant)
        {
            using var all = new MemoryStream();
            for (var k = 0; k < batch; k++)
            {
                var power = 40 + ((index + k + variant * 7) % 900) / 10.0;
                all.Write(Frame(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                    $"{{\"src\":\"{_id}\",\"dst\":\"flowfleet\",\"method\":\"NotifyStatus\",\"params\":{{\"ts\":{Now()},\"switch:0\":{{\"id\":0,\"apower\":{power:F1},\"current\":{power / 230:F3},\"aenergy\":{{\"total\":{1000 + k + variant:F1}}}}}}}}}"))));
            }
            return all.ToArray();
        }

        private static string Now() => (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0).ToString("F2", CultureInfo.InvariantCulture);

        /// <summary>A masked client frame (RFC 6455 §5.2).</summary>
        private static byte[] Frame(ReadOnlySpan<byte> payload, byte opcode = 0x1)
        {
            var header = payload.Length < 126 ? 2 : 4;
            var frame = new byte[header + 4 + payload.Length];
            frame[0] = (byte)(0x80 | opcode);
            if (payload.Length < 126)
            {
                frame[1] = (byte)(0x80 | payload.Length);
            }
            else
            {
                frame[1] = 0x80 | 126;
                frame[2] = (byte)(payload.Length >> 8);
                frame[3] = (byte)payload.Length;
            }
            var mask = frame.AsSpan(header, 4);
            RandomNumberGenerator.Fill(mask);
            for (var i = 0; i < payload.Length; i++)
            {
                frame[header + 4 + i] = (byte)(payload[i] ^ mask[i & 3]);
            }
            return frame;
        }

        public void SendBatch() => Send(_batches[_turn++ & 1]);

        private void Send(byte[] data)
        {
            lock (_write)
            {
                try
                {
                    var done = 0;
                    while (done < data.Length)
                    {
                        done += _socket.Send(data.AsSpan(done));
                    }
                }
                catch (SocketException)
                {
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }

        /// <summary>Answers the server: RPCs with plausible results, pings with pongs.</summary>
        private async Task ReadAsync()
        {
            var buffer = new byte[64 * 1024];
            var have = 0;
            try
            {
                while (true)
                {
                    var n = await _socket.ReceiveAsync(buffer.AsMemory(have));
                    if (n == 0)
                    {
                        return;
                    }
                    have += n;
                    var at = 0;
                    while (have - at >= 2)
                    {
                        var opcode = buffer[at] & 0x0F;
                        long length = buffer[at + 1] & 0x7F;
                        var header = 2;
                        if (length == 126)
                        {
                            if (have - at < 4)
                            {
                                break;
                            }
                            length = (buffer[at + 2] << 8) | buffer[at + 3];
                            header = 4;
                        }
                        else if (length == 127)
                        {
                            if (have - at < 10)
                            {
                                break;
                            }
                            length = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(buffer.AsSpan(at + 2));
                            header = 10;
                        }
                        if (have - at < header + length)
                        {
                            break;
                        }
                        var payload = buffer.AsSpan(at + header, (int)length);
                        if (opcode == 0x9)
                        {
                            Send(Frame(payload, 0xA));
                        }
                        else if (opcode == 0x8)
                        {
                            return;
                        }
                        else if (opcode == 0x1)
                        {
                            Answer(payload);
                        }
                        at += header + (int)length;
                    }
                    Array.Copy(buffer, at, buffer, 0, have - at);
                    have -= at;
                }
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }

        private void Answer(ReadOnlySpan<byte> request)
        {
            using var doc = JsonDocument.Parse(request.ToArray());
            if (!doc.RootElement.TryGetProperty("id", out var id) || !doc.RootElement.TryGetProperty("method", out var m))
            {
                return;
            }
            var result = m.GetString() switch
            {
                "Shelly.GetDeviceInfo" => $$"""{"id":"{{_id}}","mac":"1F{{index:X10}}","slot":1,"model":"SNSW-001P16EU","gen":2,"fw_id":"20240819-074337/1.4.2-gc2639da","ver":"1.4.2","app":"Plus1PM","auth_en":false,"auth_domain":null}""",
                "Shelly.ListMethods" => """{"methods":["Shelly.GetStatus","Shelly.GetConfig","Shelly.GetDeviceInfo","Shelly.ListMethods","Switch.Set","Switch.GetStatus"]}""",
                "Shelly.GetConfig" => """{"switch:0":{"id":0,"name":null,"initial_state":"restore_last","auto_on":false,"auto_off":false}}""",
                "Shelly.GetStatus" => """{"switch:0":{"id":0,"source":"init","output":true,"apower":50.0,"voltage":230.0,"current":0.2,"aenergy":{"total":1000.0}}}""",
                "Switch.Set" => """{"was_on":true}""",
                _ => "{}",
            };
            Send(Frame(Encoding.UTF8.GetBytes($$"""{"id":{{id.GetRawText()}},"src":"{{_id}}","dst":"flowfleet","result":{{result}}}""")));
        }

        public void Dispose()
        {
            _socket.Dispose();
        }
    }
}

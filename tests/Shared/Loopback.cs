using System.Net;
using System.Net.Sockets;

namespace FlowFleet.Tests;

// Compiled into every test project (tests/Directory.Build.props links tests/Shared/*.cs): the test projects don't reference each
// other, and each had its own copy of this. Internal, so a project referencing another (Nodes.Core → Runtime.Tests) sees one.

/// <summary>Ports for servers the tests start themselves, so tests running at once never collide.</summary>
internal static class Loopback
{
    /// <summary>A free loopback port (bound to port 0, then released for the server to take).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using MQTTnet;

namespace FlowFleet.Nodes.Core.Network.Mqtt;

/// <summary>The TLS side of <c>mqtt-broker</c>: its <c>tls-config</c> node, and how a TLS failure is reported.</summary>
public sealed partial class MqttBrokerNode
{
    // Set when this attempt's server certificate was accepted: a failure after that is the broker refusing us.
    private volatile bool _serverAccepted;
    private volatile string? _serverProblem;

    private void AddTls(MqttClientOptionsBuilder b, string host)
    {
        // Node-RED: usetls with a tls-config adds its certificates, CA, servername and ALPN; the tls-config's
        // verifyservercert wins, the broker's own flag (default false) applies when it has none.
        var tlsNode = string.IsNullOrEmpty(Config.Tls) ? null : TlsConfigNode.Find(Node, Config.Tls);
        var verify = tlsNode?.VerifyServerCert ?? Flag("verifyservercert", false);
        var material = tlsNode?.Material;
        (_serverAccepted, _serverProblem) = (false, null);
        b.WithTlsOptions(o =>
        {
            o.UseTls().WithTargetHost(tlsNode?.ServerName is { Length: > 0 } sni ? sni : host);
            o.WithCertificateValidationHandler(c =>
            {
                string? problem = null;
                var accepted = tlsNode is null ? !verify || c.SslPolicyErrors == System.Net.Security.SslPolicyErrors.None
                    : tlsNode.ValidateServer(c.Certificate, c.Chain, c.SslPolicyErrors, verify, out problem);
                (_serverAccepted, _serverProblem) = (accepted, problem);
                return accepted;
            });
            if (material?.Certificate is { } cert)
            {
                o.WithClientCertificates([cert]);
            }
            if (tlsNode?.AlpnProtocol is { Length: > 0 } alpn)
            {
                o.WithApplicationProtocols([new System.Net.Security.SslApplicationProtocol(alpn)]);
            }
        });
    }

    /// <summary>The messages of an exception and its inner ones (MQTTnet wraps the TLS error that says what went wrong).</summary>
    private static string Reason(Exception ex)
    {
        var parts = new List<string>();
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (!parts.Contains(e.Message))
            {
                parts.Add(e.Message);
            }
        }
        return string.Join(": ", parts);
    }

    /// <summary>Why a connection failed when TLS is to blame, or null (refused, DNS, MQTT errors are only logged).</summary>
    private string? TlsFailure(Exception ex)
    {
        if (!Endpoint().Tls)
        {
            return null;
        }
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is System.Security.Authentication.AuthenticationException or InvalidOperationException)
            {
                return _serverProblem is { } problem ? problem + " (" + Reason(ex) + ")" : Reason(ex);
            }
        }
        if (_serverAccepted)
        {
            // With TLS 1.3 a broker that wants a client certificate closes the connection after the handshake has
            // succeeded on the client side: say what that most likely means instead of a bare "not connected".
            var hasCertificate = !string.IsNullOrEmpty(Config.Tls) && Node.FindNode(Config.Tls) is TlsConfigNode { HasCertificate: true };
            return Reason(ex) + (hasCertificate
                ? "; the broker closed the connection after the TLS handshake: it may have refused the client certificate"
                : "; the broker closed the connection after the TLS handshake: it most likely requires a client certificate, and the TLS configuration has none");
        }
        return null;
    }
}

using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Network;

/// <summary>
/// Node-RED's <c>tls-config</c> (05-tls.js): a certificate and private key (for client certificate authentication, or a
/// server's own identity), the CA certificates that verify the peer, SNI server name, ALPN protocol and whether the server
/// certificate is verified. Certificates come from local files (<c>cert</c>, <c>key</c>, <c>ca</c>) or from uploaded PEM
/// held as encrypted credentials (<c>certdata</c>, <c>keydata</c>, <c>cadata</c>, <c>passphrase</c>). A missing file or bad
/// PEM is reported by this node; the nodes using it then refuse to connect with that error instead of silently going on
/// without certificates.
/// </summary>
[NodeType("tls-config", Category = "config", Inputs = 0, Outputs = 0, PaletteLabel = "TLS", LabelProperty = "name",
    Help = """
    Certificates for TLS connections (mqtt-broker, http request, websocket-client, tcp in/out/request). Give **local file
    paths** (`cert`, `key`, `ca`) or paste/upload **PEM data** (stored encrypted as credentials, never exported). The
    certificate and key go together (client certificate, or the server identity of tcp in/out); the CA replaces the system's
    trusted roots for verifying the server. `servername` is sent as SNI and checked against the certificate; `alpnprotocol`
    is offered in the handshake. Unticking *verify server certificate* accepts any server (testing only).
    """)]
public sealed class TlsConfigNode : FlowNode<TlsConfig>
{
    private readonly Lock _lock = new();
    private TlsMaterial? _material;

    /// <summary>Node-RED's <c>verifyservercert</c>: null when the flow does not set it (the mqtt-broker then uses its own flag).</summary>
    public bool? VerifyServerCert => Node.Config["verifyservercert"] switch
    {
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        JsonValue v when v.TryGetValue<string>(out var s) && s.Length > 0 => s is "true" or "True",
        _ => null,
    };

    /// <summary>True when a certificate and key are configured (client authentication); false also when they are not usable.</summary>
    public bool HasCertificate
    {
        get
        {
            try
            {
                return Material.Certificate is not null;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }
    }

    public string ServerName => (Config.Servername ?? "").Trim();

    public string AlpnProtocol => (Config.Alpnprotocol ?? "").Trim();

    /// <summary>The loaded certificates; throws <see cref="InvalidOperationException"/> with the reason when they are not usable.</summary>
    internal TlsMaterial Material
    {
        get
        {
            lock (_lock)
            {
                _material ??= TlsMaterial.Load(Config, Node.Config["credentials"] as JsonObject);
            }
            return _material.Problem is { } problem
                ? throw new InvalidOperationException($"TLS configuration '{Label}' is not usable: {problem}")
                : _material;
        }
    }

    private string Label => Config.Name is { Length: > 0 } n ? n : Node.Id;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _ = Material;
        }
        catch (InvalidOperationException ex)
        {
            // As Node-RED: the config node reports it and the flow keeps running; its users refuse TLS with the same message.
            Node.Error(ex.Message);
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// Node-RED's <c>rejectUnauthorized</c> check: with verification off anything goes; with a CA configured the chain must
    /// end in one of its certificates (they replace the system roots, as Node's <c>ca</c> option does); else the system's
    /// verdict stands. A host name mismatch fails either way.
    /// </summary>
    public bool ValidateServer(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, bool verify) =>
        ValidateServer(certificate, chain, errors, verify, out _);

    /// <inheritdoc cref="ValidateServer(X509Certificate?, X509Chain?, SslPolicyErrors, bool)"/>
    /// <param name="problem">Why the certificate was refused, in words for the user's error message.</param>
    public bool ValidateServer(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, bool verify, out string? problem)
    {
        problem = null;
        if (!verify)
        {
            return true;
        }
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable) || certificate is null)
        {
            problem = "the server sent no certificate";
            return false;
        }
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            problem = $"the server certificate ({certificate.Subject}) is not valid for the server name{(ServerName.Length > 0 ? $" '{ServerName}'" : "")}";
            return false;
        }
        var ca = Material.Ca;
        if (ca.Count == 0)
        {
            problem = errors == SslPolicyErrors.None ? null : $"the server certificate ({certificate.Subject}, issued by {certificate.Issuer}) is not trusted by the system; set the CA certificate in the TLS configuration";
            return problem is null;
        }
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.CustomTrustStore.AddRange(ca);
        custom.ChainPolicy.ExtraStore.AddRange(ca);
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }
        using var leaf = new X509Certificate2(certificate);
        if (custom.Build(leaf))
        {
            return true;
        }
        problem = $"the server certificate ({certificate.Subject}, issued by {certificate.Issuer}) was not issued by the configured CA certificate";
        return false;
    }

    /// <summary>Options for a client connection to <paramref name="host"/>; <paramref name="verifyFallback"/> when the node leaves verification unset.</summary>
    /// <param name="rejected">Told why, when the server's certificate is refused (the TLS error itself only says "rejected").</param>
    public SslClientAuthenticationOptions ClientOptions(string host, bool verifyFallback = true, Action<string>? rejected = null)
    {
        var material = Material;
        var verify = VerifyServerCert ?? verifyFallback;
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = ServerName.Length > 0 ? ServerName : host,
            RemoteCertificateValidationCallback = (_, cert, chain, errors) =>
            {
                var ok = ValidateServer(cert, chain, errors, verify, out var problem);
                if (problem is not null)
                {
                    rejected?.Invoke(problem);
                }
                return ok;
            },
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (material.Certificate is { } cert)
        {
            options.ClientCertificateContext = SslStreamCertificateContext.Create(cert, material.Intermediates, offline: true);
        }
        if (AlpnProtocol.Length > 0)
        {
            options.ApplicationProtocols = [new SslApplicationProtocol(AlpnProtocol)];
        }
        return options;
    }

    /// <summary>Options for the server side (tcp in/out listening): the certificate and key are required there.</summary>
    public SslServerAuthenticationOptions ServerOptions()
    {
        var material = Material;
        if (material.Certificate is not { } cert)
        {
            throw new InvalidOperationException($"TLS configuration '{Label}' has no certificate and private key, which a TLS server needs");
        }
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(cert, material.Intermediates, offline: true),
            ClientCertificateRequired = false,
        };
        if (AlpnProtocol.Length > 0)
        {
            options.ApplicationProtocols = [new SslApplicationProtocol(AlpnProtocol)];
        }
        return options;
    }

    /// <summary>The tls-config node a user node names, or an error a user can act on.</summary>
    public static TlsConfigNode Find(INodeHost node, string id)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.FindNode(id) as TlsConfigNode
            ?? throw new InvalidOperationException($"TLS configuration '{id}' (tls-config) was not found or did not start");
    }
}

/// <summary>Certificates loaded from a <see cref="TlsConfig"/>: <see cref="Problem"/> says why they cannot be used.</summary>
internal sealed class TlsMaterial
{
    public X509Certificate2? Certificate { get; private init; }

    public X509Certificate2Collection Intermediates { get; private init; } = [];

    public X509Certificate2Collection Ca { get; private init; } = [];

    public string? Problem { get; private init; }

    public static TlsMaterial Load(TlsConfig config, JsonObject? credentials)
    {
        string Cred(string name) => JsonTools.Text(credentials?[name]) ?? "";
        var (certPath, keyPath, caPath) = ((config.Cert ?? "").Trim(), (config.Key ?? "").Trim(), (config.Ca ?? "").Trim());
        var files = certPath.Length + keyPath.Length + caPath.Length > 0;
        try
        {
            // Node-RED: local file paths win over uploaded data; a certificate needs its key and the other way round.
            var certPem = files ? Read(certPath, "certificate") : Cred("certdata");
            var keyPem = files ? Read(keyPath, "private key") : Cred("keydata");
            var caPem = files ? Read(caPath, "CA certificate") : Cred("cadata");
            if ((certPem.Length > 0) != (keyPem.Length > 0))
            {
                return new TlsMaterial { Problem = "a certificate and its private key must be given together (one of them is missing)" };
            }
            var ca = caPem.Length > 0 ? Certificates(caPem, "CA certificate") : [];
            if (certPem.Length == 0)
            {
                return new TlsMaterial { Ca = ca };
            }
            var chain = Certificates(certPem, "certificate");
            return new TlsMaterial { Certificate = WithKey(certPem, keyPem, Cred("passphrase")), Intermediates = [.. chain.Skip(1)], Ca = ca };
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            return new TlsMaterial { Problem = ex.Message };
        }
    }

    private static string Read(string path, string what)
    {
        if (path.Length == 0)
        {
            return "";
        }
        try
        {
            var bytes = File.ReadAllBytes(path);
            // A DER file is taken as it is; PEM (the usual form) as text.
            return bytes.Length > 0 && bytes[0] == 0x30 ? PemEncoding.WriteString(what == "private key" ? "PRIVATE KEY" : "CERTIFICATE", bytes) : System.Text.Encoding.UTF8.GetString(bytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot read the {what} file '{path}': {ex.Message}", ex);
        }
    }

    private static X509Certificate2Collection Certificates(string pem, string what)
    {
        var result = new X509Certificate2Collection();
        try
        {
            result.ImportFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new CryptographicException($"the {what} is not valid PEM: {ex.Message}", ex);
        }
        return result.Count > 0 ? result
            : pem.Contains("-----BEGIN", StringComparison.Ordinal) ? throw new CryptographicException($"the {what} is not valid PEM: no readable CERTIFICATE block")
            : throw new CryptographicException($"the {what} holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }

    private static X509Certificate2 WithKey(string certPem, string keyPem, string passphrase)
    {
        if (!PemEncoding.TryFind(keyPem, out _))
        {
            throw new CryptographicException("the private key is not valid PEM (-----BEGIN PRIVATE KEY-----)");
        }
        var encrypted = keyPem.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal);
        if (encrypted && passphrase.Length == 0)
        {
            throw new CryptographicException("the private key is encrypted: set its passphrase");
        }
        X509Certificate2 cert;
        try
        {
            cert = encrypted ? X509Certificate2.CreateFromEncryptedPem(certPem, keyPem, passphrase) : X509Certificate2.CreateFromPem(certPem, keyPem);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            // A key of the wrong certificate, a wrong passphrase, an OpenSSL-only legacy key format.
            throw new CryptographicException($"the certificate and private key cannot be used together: {ex.Message}", ex);
        }
        using (cert)
        {
            // A PKCS#12 round trip gives the key a form every SslStream platform accepts for client and server certificates.
            return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
        }
    }
}

/// <summary>Node-RED's tls-config defaults (05-tls.html) and credentials (certdata, keydata, cadata, passphrase).</summary>
public sealed class TlsConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Certificate file (local path)", Help = "A PEM file on the server; or leave the paths empty and paste the PEM below.")]
    public string? Cert { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Private key file (local path)")]
    public string? Key { get; set; }

    [NodeProperty(Default = "\"\"", Label = "CA certificate file (local path)")]
    public string? Ca { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Hidden)]
    public string? Certname { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Hidden)]
    public string? Keyname { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Hidden)]
    public string? Caname { get; set; }

    [NodeProperty(Secret = true, UiHint = PropertyUi.Multiline, Label = "Certificate (PEM)", Help = "Stored encrypted; leave empty to keep the stored value")]
    public string? Certdata { get; set; }

    [NodeProperty(Secret = true, UiHint = PropertyUi.Multiline, Label = "Private key (PEM)", Help = "Stored encrypted; leave empty to keep the stored value")]
    public string? Keydata { get; set; }

    [NodeProperty(Secret = true, Label = "Passphrase")]
    public string? Passphrase { get; set; }

    [NodeProperty(Secret = true, UiHint = PropertyUi.Multiline, Label = "CA certificate (PEM)", Help = "Stored encrypted; leave empty to keep the stored value")]
    public string? Cadata { get; set; }

    [NodeProperty(Default = "true", UiHint = PropertyUi.Checkbox, Label = "Verify server certificate")]
    public JsonNode? Verifyservercert { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Server Name", Help = "SNI name sent to the server and checked against its certificate (default: the host connected to).")]
    public string? Servername { get; set; }

    [NodeProperty(Default = "\"\"", Label = "ALPN Protocol")]
    public string? Alpnprotocol { get; set; }
}

using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FlowFleet.Tests;

// Compiled into every test project (tests/Directory.Build.props links tests/Shared/*.cs).

/// <summary>
/// A throw-away certificate authority made in the test with .NET's <see cref="CertificateRequest"/> (no openssl): a CA, a
/// server certificate for localhost/127.0.0.1 and a client certificate, each also as PEM text the way a user pastes it
/// into a tls-config node or hands it to Mosquitto.
/// </summary>
internal sealed class TestPki : IDisposable
{
    private TestPki(X509Certificate2 ca, X509Certificate2 server, X509Certificate2 client)
    {
        (Ca, Server, Client) = (ca, server, client);
        CaPem = ca.ExportCertificatePem();
        ServerCertPem = server.ExportCertificatePem();
        ServerKeyPem = server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem();
        ClientCertPem = client.ExportCertificatePem();
        ClientKeyPem = client.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem();
    }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 Server { get; }

    public X509Certificate2 Client { get; }

    public string CaPem { get; }

    public string ServerCertPem { get; }

    public string ServerKeyPem { get; }

    public string ClientCertPem { get; }

    public string ClientKeyPem { get; }

    /// <summary>The client key encrypted (PKCS#8, AES-256) with <paramref name="passphrase"/>.</summary>
    public string EncryptedClientKeyPem(string passphrase) =>
        Client.GetECDsaPrivateKey()!.ExportEncryptedPkcs8PrivateKeyPem(passphrase, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000));

    public static TestPki Create(string name = "FlowFleet Test CA")
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={name}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var ca = caRequest.CreateSelfSigned(now.AddHours(-1), now.AddDays(2));
        return new TestPki(ca, Leaf(ca, "localhost", server: true), Leaf(ca, "flowfleet-test-client", server: false));
    }

    /// <summary>
    /// A server certificate issued by this CA for <paramref name="dnsName"/> only (no loopback address): a client reaches it
    /// only under that name, as a test of the name sent in the handshake (SNI) needs.
    /// </summary>
    public X509Certificate2 ServerFor(string dnsName) => Leaf(Ca, dnsName, server: true, loopbackAddress: false);

    private static X509Certificate2 Leaf(X509Certificate2 ca, string cn, bool server, bool loopbackAddress = true)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(cn);
            if (loopbackAddress)
            {
                san.AddIpAddress(IPAddress.Loopback);
            }
            request.CertificateExtensions.Add(san.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var cert = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), serial);
        using var withKey = cert.CopyWithPrivateKey(key);
        // Through PKCS#12 so SslStream can use the key on any platform.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>True when <paramref name="certificate"/> was issued by this CA (a server's check of client certificates).</summary>
    public bool Issued(X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.Add(Ca);
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    /// <summary>Server options with this CA's server certificate, optionally requiring a client certificate it issued.</summary>
    public SslServerAuthenticationOptions ServerOptions(bool requireClientCertificate) => new()
    {
        ServerCertificateContext = SslStreamCertificateContext.Create(Server, null, offline: true),
        ClientCertificateRequired = requireClientCertificate,
        RemoteCertificateValidationCallback = (_, cert, _, _) => !requireClientCertificate || Issued(cert),
    };

    public void Dispose()
    {
        Ca.Dispose();
        Server.Dispose();
        Client.Dispose();
    }
}

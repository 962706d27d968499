namespace Broker.Transport.Security;

/// <summary>Recognises the start of a TLS record (RFC 8446, 5.1) in the first bytes a plaintext side receives.</summary>
internal static class TlsRecord
{
    /// <summary>Names the record <paramref name="first"/> starts with, or null when it is not a TLS record.</summary>
    public static string? Describe(ReadOnlySpan<byte> first)
    {
        // ContentType (handshake 22, alert 21), then legacy_record_version 0x03 0x00..0x04.
        if (first.Length < 3 || first[1] != 0x03 || first[2] > 0x04)
        {
            return null;
        }

        return first[0] switch
        {
            0x16 => "a TLS handshake record, such as a ClientHello",
            0x15 => "a TLS alert",
            _ => null,
        };
    }
}

namespace Broker.Transport.Certificates;

/// <summary>A certificate source has no usable material: it is not ready, it was disposed, or its files are broken.</summary>
public sealed class CertificateUnavailableException : InvalidOperationException
{
    /// <summary>Creates the exception with a message that says what is missing and where.</summary>
    public CertificateUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public CertificateUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public CertificateUnavailableException()
        : base("The certificate source holds no usable certificate.")
    {
    }
}

/// <summary>Certificate or key files could not be used: missing, unreadable, malformed, or not matching.</summary>
public sealed class CertificateLoadException : Exception
{
    /// <summary>Creates the exception with a message that names the file and the problem.</summary>
    public CertificateLoadException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public CertificateLoadException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public CertificateLoadException()
        : base("The certificate files could not be loaded.")
    {
    }
}

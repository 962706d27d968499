global using Broker.Transport.Tests.Support;

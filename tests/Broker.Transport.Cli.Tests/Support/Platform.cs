// The tool writes Secret folders with symlinks, rename(2) and Unix file modes, as kubelet does: its tests run
// where it runs, on Linux (and macOS).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
[assembly: System.Runtime.Versioning.SupportedOSPlatform("macos")]

using Zeroshot.Agents.Tests.State;

namespace Zeroshot.Agents.Tests.Notify;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal static class NotifyTestKit
{
    public static readonly DateTimeOffset At = new(2026, 12, 3, 7, 15, 20, 123, TimeSpan.Zero);

    /// <summary>Writes an executable sh script named <paramref name="name"/> into <paramref name="dir"/>.</summary>
    public static string Script(StoreTempDir dir, string name, string body)
    {
        var path = dir.File(name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>Quotes <paramref name="text"/> for a sh script.</summary>
    public static string Sh(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}

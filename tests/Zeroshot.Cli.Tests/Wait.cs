namespace Zeroshot.Cli.Tests;

/// <summary>Waits for a condition with a deadline instead of sleeping a fixed time.</summary>
internal static class Wait
{
    public static void Until(Func<bool> condition, string what, int timeoutMs = 60_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            using var pause = new ManualResetEventSlim();
            pause.Wait(50);
        }
    }
}

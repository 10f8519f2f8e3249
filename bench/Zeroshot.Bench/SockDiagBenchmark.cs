namespace Zeroshot.Bench;

internal static class SockDiagBenchmark
{
    public static int Run(string[] args)
    {
        _ = args;
        Console.Error.WriteLine("not written yet");
        return 1;
    }
}

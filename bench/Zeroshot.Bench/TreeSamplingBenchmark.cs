namespace Zeroshot.Bench;

internal static class TreeSamplingBenchmark
{
    public static int Run(string[] args)
    {
        _ = args;
        Console.Error.WriteLine("not written yet");
        return 1;
    }
}

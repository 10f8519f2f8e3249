using Zeroshot.Agents.Pty;

namespace Zeroshot.Agents.Tests.Pty;

public sealed class ProcessGroupScannerTests
{
    [Fact]
    public void StatLineIsParsedAfterTheLastParenthesis()
    {
        ProcStatIds ids = ProcessGroupScanner.ParseStat("4242 (evil) S 1 2 (x) R 7 8 9 ) Z 1 4240 4239 34816 4240 4194560 100\n");

        Assert.Equal(new ProcStatIds(4242, 'Z', 4240, 4239), ids);
        Assert.False(ids.IsLive);
        Assert.True(ProcessGroupScanner.ParseStat("1 (a b) S 0 1 1 0 -1").IsLive);
    }

    [Theory]
    [InlineData("")]
    [InlineData("4242 evil S 1 2 3")]
    [InlineData("4242 (x) S 1")]
    [InlineData("4242 (x) S 1 two 3")]
    [InlineData("abc (x) S 1 2 3")]
    [InlineData("4242 (x) SS 1 2 3")]
    public void MalformedStatIsABug(string stat) =>
        Assert.Throws<InvalidDataException>(() => ProcessGroupScanner.ParseStat(stat));

    [Fact]
    public void LiveMembersOfSessionOrGroupAreFoundInAProcTree()
    {
        string root = PtyTestKit.TempDirectory();
        try
        {
            WriteStat(root, 100, "100 (leader) S 1 100 100 0");
            WriteStat(root, 101, "101 (job) S 100 101 100 0"); // other group, same session
            WriteStat(root, 102, "102 (zombie) Z 100 100 100 0");
            WriteStat(root, 103, "103 (stranger) S 1 103 103 0");
            WriteStat(root, 104, "104 (group only) S 1 100 99 0");
            Directory.CreateDirectory(Path.Combine(root, "105")); // vanished: no stat file
            Directory.CreateDirectory(Path.Combine(root, "self"));

            List<int> members = ProcessGroupScanner.FindLiveMembers(100, root);

            Assert.Equal([100, 101, 104], members.Order());
            Assert.Empty(ProcessGroupScanner.FindLiveMembers(100, Path.Combine(root, "missing")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static void WriteStat(string root, int pid, string stat)
    {
        Directory.CreateDirectory(Path.Combine(root, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        File.WriteAllText(Path.Combine(root, pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "stat"), stat + "\n");
    }
}

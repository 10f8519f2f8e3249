using Zeroshot.Metrics.MacOS;

namespace Zeroshot.Metrics.Tests.MacOS;

public class LsofOutputParserTests
{
    [Fact]
    public void ParsesRecordedFieldOutput()
    {
        var byPid = new Dictionary<int, NetworkState>();
        LsofOutputParser.Parse(Fixtures.Read("lsof_tcp.txt"), byPid);

        Assert.Equal(3, byPid.Count);
        // Two established (one IPv4, one IPv6); LISTEN and CLOSE_WAIT not counted but their queues are.
        Assert.Equal(new NetworkState(Established: 2, SendQueueBytes: 517, RecvQueueBytes: 1480), byPid[4250]);
        // Command with blanks and parentheses, unknown TSO item ignored.
        Assert.Equal(new NetworkState(1, 200, 100), byPid[4261]);
        Assert.Equal(new NetworkState(1, 6, 5), byPid[5001]);
    }

    [Fact]
    public void ProcessWithoutSocketsAndEmptyOutput()
    {
        var byPid = new Dictionary<int, NetworkState>();
        LsofOutputParser.Parse("", byPid);
        Assert.Empty(byPid);
        LsofOutputParser.Parse("p77\ncidle\n", byPid);
        Assert.Equal(default, byPid[77]);
    }

    [Fact]
    public void AccumulatesIntoExistingEntries()
    {
        var byPid = new Dictionary<int, NetworkState> { [4261] = new NetworkState(1, 1, 1) };
        LsofOutputParser.Parse(Fixtures.Read("lsof_tcp.txt"), byPid);
        Assert.Equal(new NetworkState(2, 201, 101), byPid[4261]);
    }

    [Theory]
    [InlineData("pabc\n")]
    [InlineData("p0\n")]
    [InlineData("f3\nn1.2.3.4:1->5.6.7.8:2\n")]          // file before any process
    [InlineData("TST=ESTABLISHED\n")]                     // T before any process
    [InlineData("p12\nf3\nTST\n")]                        // T without '='
    [InlineData("p12\nf3\nTQR=lots\n")]                   // queue not a number
    [InlineData("p12\nf3\nTQS=-1\n")]
    [InlineData("p12\n f3\n")]                            // bad identifier
    [InlineData("p12\nf3\n:junk\n")]                    // not field output at all
    public void MalformedThrowsInvalidData(string text)
    {
        var byPid = new Dictionary<int, NetworkState>();
        Assert.Throws<InvalidDataException>(() => LsofOutputParser.Parse(text, byPid));
    }
}

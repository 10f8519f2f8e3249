using Zeroshot.Agents.State;

namespace Zeroshot.Agents.Tests.State;

/// <summary>Opening a home whose database file is damaged or was emptied: the file is kept, the user is told.</summary>
public sealed class DamagedStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    private readonly StoreTempDir _dir = new();
    private readonly ManualClock _clock = new(T0);
    private readonly List<string> _notices = [];

    public void Dispose() => _dir.Dispose();

    private ZeroshotHome Home => new(_dir.Path);

    private string Db => Home.DatabasePath;

    private StateStore OpenHome(bool replaceDamaged) => StateStore.Open(Home, _clock, replaceDamaged, _notices.Add);

    private void WriteDamaged()
    {
        using (var store = StateStore.Open(Db, _clock))
            store.CreateCluster(ClusterRecord.New("early-bird-1", Zeroshot.Agents.Config.ClusterTemplates.Demo(), T0));
        var bytes = File.ReadAllBytes(Db);
        for (int i = 4096; i < bytes.Length; i += 7) bytes[i] = 0xAB;
        File.WriteAllBytes(Db, bytes);
    }

    [Fact]
    public void A_damaged_file_is_refused_with_how_to_move_it_aside()
    {
        WriteDamaged();
        // The header still reads, so it opens; the first read of a damaged page fails, and the CLI says it in these words.
        var error = Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() =>
        {
            using var store = OpenHome(replaceDamaged: false);
            store.ListClusters();
        });
        Assert.True(StoreErrors.IsDamaged(error));
        var message = StoreErrors.Message(error, Db);
        Assert.Equal($"the state database {Db} is damaged (database disk image is malformed); move it aside (mv {Db} {Db}.damaged) and zeroshot " +
            "starts a fresh one ('zeroshot run' does this by itself)", message);
        Assert.Empty(_notices);
    }

    [Fact]
    public void Run_moves_a_damaged_file_aside_and_opens_a_fresh_one()
    {
        WriteDamaged();
        var damaged = File.ReadAllBytes(Db);
        using (var store = OpenHome(replaceDamaged: true))
        {
            Assert.Empty(store.ListClusters());
            Assert.Null(store.QuickCheck());
        }
        string moved = Db + ".corrupt-20261202T120000Z";
        Assert.Equal(damaged, File.ReadAllBytes(moved));
        var notice = Assert.Single(_notices);
        Assert.StartsWith($"the state database {Db} was damaged (", notice);
        Assert.EndsWith($"moved it to {moved} and started a fresh one; the clusters it recorded are no longer listed", notice);
        Assert.DoesNotContain('\n', notice);

        // Sound now: nothing more is moved or said.
        using (OpenHome(replaceDamaged: true)) { }
        Assert.Single(_notices);
    }

    [Fact]
    public void An_emptied_file_is_kept_beside_the_new_one()
    {
        File.WriteAllBytes(Db, []);
        File.SetLastWriteTimeUtc(Db, (T0 - TimeSpan.FromHours(1)).UtcDateTime);
        using (var store = OpenHome(replaceDamaged: false))
            Assert.Empty(store.ListClusters());
        string kept = Db + ".truncated-20261202T120000Z";
        Assert.True(File.Exists(kept));
        Assert.Equal($"the state database {Db} was empty (truncated?): kept it as {kept} and started a fresh one; " +
            "the clusters it recorded are gone unless you restore it from a backup", Assert.Single(_notices));
    }

    [Fact]
    public void An_empty_file_just_created_by_another_process_is_left_alone()
    {
        File.WriteAllBytes(Db, []);
        File.SetLastWriteTimeUtc(Db, T0.UtcDateTime);
        using (OpenHome(replaceDamaged: true)) { }
        Assert.Empty(_notices);
        Assert.DoesNotContain(Directory.GetFiles(_dir.Path), f => f.Contains(".corrupt-", StringComparison.Ordinal) || f.Contains(".truncated-", StringComparison.Ordinal));
    }
}

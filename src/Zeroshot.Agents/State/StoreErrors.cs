using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Zeroshot.Agents.State;

/// <summary>
/// What a failure of the state database means for the user, in one line that names the file and what to do:
/// locked by another process, damaged, in a read-only directory. Result codes from https://sqlite.org/rescode.html.
/// </summary>
internal static class StoreErrors
{
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteReadOnly = 8;
    private const int SqliteCorrupt = 11;
    private const int SqliteCantOpen = 14;
    private const int SqliteNotADatabase = 26;

    /// <summary>SQLITE_BUSY or SQLITE_LOCKED (any extended code): another connection holds a lock the statement needs.</summary>
    public static bool IsBusy(SqliteException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return (e.SqliteErrorCode & 0xFF) is SqliteBusy or SqliteLocked;
    }

    /// <summary>SQLITE_CORRUPT or SQLITE_NOTADB: the file is damaged (or not a database at all).</summary>
    public static bool IsDamaged(SqliteException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return (e.SqliteErrorCode & 0xFF) is SqliteCorrupt or SqliteNotADatabase;
    }

    /// <summary>The user error for <paramref name="e"/>, met on the database at <paramref name="databasePath"/>.</summary>
    public static UserErrorException Describe(SqliteException e, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new UserErrorException(Message(e, databasePath), e);
    }

    /// <summary>The one-line message for <paramref name="e"/> (see <see cref="Describe"/>).</summary>
    public static string Message(SqliteException e, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(e);
        string reason = Reason(e);
        if (IsBusy(e))
            return string.Create(CultureInfo.InvariantCulture,
                $"the state database {databasePath} is locked by another process (waited {StateStore.BusyTimeoutMilliseconds / 1000} s; a backup, or sqlite3 left in a transaction?); try again once it is released");
        if (IsDamaged(e))
            return $"the state database {databasePath} is damaged ({reason}); move it aside (mv {databasePath} {databasePath}.damaged) and zeroshot starts a fresh one ('zeroshot run' does this by itself)";
        if ((e.SqliteErrorCode & 0xFF) is SqliteCantOpen or SqliteReadOnly && WhyNotOpenable(databasePath) is { } why)
            return why;
        return $"the state database {databasePath}: {reason}";
    }

    /// <summary>
    /// The one-line message when the database file could not be created or opened before SQLite saw it (it is created
    /// 0600 first): the same words as for SQLite's own failures to open.
    /// </summary>
    public static string CannotCreate(Exception e, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(e);
        return WhyNotOpenable(databasePath) ?? $"cannot open the state database {databasePath}: {e.Message}";
    }

    // SQLite creates the file and, in WAL mode, its -wal and -shm files beside it (https://sqlite.org/wal.html):
    // a read-only directory fails even when the file itself could be opened. "unable to open database file"
    // names neither, so say which one it is; null when neither is the reason.
    private static string? WhyNotOpenable(string databasePath)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(databasePath)) ?? ".";
        if (!Directory.Exists(directory))
            return $"cannot open the state database {databasePath}: the directory {directory} does not exist";
        if (!DirectoryAcceptsFiles(directory))
            return $"cannot open the state database {databasePath}: the directory {directory} is read-only (SQLite creates state.db, state.db-wal and state.db-shm there); make it writable (chmod u+w {directory}) or set ZEROSHOT_HOME to a writable directory";
        if (File.Exists(databasePath) && !FileAcceptsWrites(databasePath))
            return $"cannot write the state database {databasePath}: the file is read-only; make it writable (chmod u+w {databasePath})";
        return null;
    }

    /// <summary>"database disk image is malformed", without Microsoft.Data.Sqlite's "SQLite Error 11: '…'." wrapping.</summary>
    private static string Reason(SqliteException e)
    {
        string message = e.Message;
        int open = message.IndexOf('\'', StringComparison.Ordinal);
        int close = message.LastIndexOf('\'');
        return open >= 0 && close > open + 1 ? message[(open + 1)..close] : message;
    }

    /// <summary>Whether a file can be created in <paramref name="directory"/>, found by doing what SQLite would do: creating one.</summary>
    private static bool DirectoryAcceptsFiles(string directory)
    {
        string probe = Path.Combine(directory, $".zeroshot-write-probe-{Environment.ProcessId}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
                return true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            // EACCES, EROFS, or the directory is missing: nothing can be created there.
            return false;
        }
    }

    private static bool FileAcceptsWrites(string path)
    {
        try
        {
            using (new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
                return true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return false;
        }
    }
}

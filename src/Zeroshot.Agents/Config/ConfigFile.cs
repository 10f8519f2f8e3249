namespace Zeroshot.Agents.Config;

/// <summary>Reads the user's configuration files (cluster files, settings.json) with a size limit.</summary>
internal static class ConfigFile
{
    /// <summary>
    /// The UTF-8 text of <paramref name="path"/>, read up to <paramref name="maxBytes"/> and not a byte further:
    /// <c>zeroshot run /dev/zero</c> or a multi-gigabyte file must be a one-line error (exit 2), never an
    /// OutOfMemoryException. The limit is enforced on what is read, not on the reported length (devices and
    /// /proc files report 0). <paramref name="what"/> names the file in messages ("cluster file").
    /// </summary>
    public static string ReadText(string path, int maxBytes, string what)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new UserErrorException($"{path}: no such file", ExitCodes.Usage);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserErrorException($"{path}: cannot read: {e.Message}", ExitCodes.Usage);
        }
        using (stream)
        {
            var buffer = new byte[Math.Min(maxBytes + 1L, Math.Max(4096L, SafeLength(stream) + 1))];
            int used = 0;
            try
            {
                while (true)
                {
                    if (used == buffer.Length)
                    {
                        if (buffer.Length > maxBytes)
                            throw new UserErrorException($"{path}: too large for a {what} (the limit is {maxBytes / (1024 * 1024)} MiB)", ExitCodes.Usage);
                        Array.Resize(ref buffer, (int)Math.Min(maxBytes + 1L, buffer.Length * 2L));
                    }
                    int n = stream.Read(buffer, used, buffer.Length - used);
                    if (n == 0)
                        break;
                    used += n;
                }
            }
            catch (IOException e)
            {
                throw new UserErrorException($"{path}: cannot read: {e.Message}", ExitCodes.Usage);
            }
            return new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false)
                .GetString(buffer, 0, used).TrimStart('\uFEFF');
        }
    }

    private static long SafeLength(FileStream stream)
    {
        try
        {
            return stream.CanSeek ? stream.Length : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}

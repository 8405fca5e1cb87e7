using System.Text;

namespace Bge.Tests.Weights.Torch;

/// <summary>
/// Writes a zip archive of stored records as torch.save lays them out (data 64-byte aligned through the local extra
/// field), optionally with zip64 records and extra fields forced, or with a record claiming another method.
/// </summary>
internal static class ZipWriter
{
    public sealed record Record(string Name, byte[] Data, ushort Method = 0);

    public static byte[] Write(IReadOnlyList<Record> records, bool zip64 = false)
    {
        var output = new MemoryStream();
        var writer = new BinaryWriter(output);
        var offsets = new List<long>();
        foreach (var record in records)
        {
            offsets.Add(output.Position);
            var name = Encoding.UTF8.GetBytes(record.Name);
            var padding = (int)((64 - ((output.Position + 30 + name.Length + 4) % 64)) % 64);
            writer.Write(0x04034b50u);
            writer.Write((ushort)20);
            writer.Write((ushort)0);
            writer.Write(record.Method);
            writer.Write(0u);
            writer.Write(Crc32(record.Data));
            writer.Write((uint)record.Data.Length);
            writer.Write((uint)record.Data.Length);
            writer.Write((ushort)name.Length);
            writer.Write((ushort)(4 + padding));
            writer.Write(name);
            writer.Write((ushort)0x5346); // an unknown tag, as PyTorch pads with ("FS")
            writer.Write((ushort)padding);
            writer.Write(new byte[padding]);
            writer.Write(record.Data);
        }

        var directoryStart = output.Position;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            var name = Encoding.UTF8.GetBytes(record.Name);
            writer.Write(0x02014b50u);
            writer.Write((ushort)45);
            writer.Write((ushort)45);
            writer.Write((ushort)0);
            writer.Write(record.Method);
            writer.Write(0u);
            writer.Write(Crc32(record.Data));
            writer.Write(zip64 ? uint.MaxValue : (uint)record.Data.Length);
            writer.Write(zip64 ? uint.MaxValue : (uint)record.Data.Length);
            writer.Write((ushort)name.Length);
            writer.Write((ushort)(zip64 ? 4 + 24 : 0));
            writer.Write((ushort)0);
            writer.Write((ushort)0);
            writer.Write((ushort)0);
            writer.Write(0u);
            writer.Write(zip64 ? uint.MaxValue : (uint)offsets[i]);
            writer.Write(name);
            if (zip64)
            {
                writer.Write((ushort)1);
                writer.Write((ushort)24);
                writer.Write((long)record.Data.Length);
                writer.Write((long)record.Data.Length);
                writer.Write(offsets[i]);
            }
        }

        var directorySize = output.Position - directoryStart;
        if (zip64)
        {
            var recordStart = output.Position;
            writer.Write(0x06064b50u);
            writer.Write(44L);
            writer.Write((ushort)45);
            writer.Write((ushort)45);
            writer.Write(0u);
            writer.Write(0u);
            writer.Write((long)records.Count);
            writer.Write((long)records.Count);
            writer.Write(directorySize);
            writer.Write(directoryStart);
            writer.Write(0x07064b50u);
            writer.Write(0u);
            writer.Write(recordStart);
            writer.Write(1u);
        }

        writer.Write(0x06054b50u);
        writer.Write((ushort)0);
        writer.Write((ushort)0);
        writer.Write(zip64 ? ushort.MaxValue : (ushort)records.Count);
        writer.Write(zip64 ? ushort.MaxValue : (ushort)records.Count);
        writer.Write(zip64 ? uint.MaxValue : (uint)directorySize);
        writer.Write(zip64 ? uint.MaxValue : (uint)directoryStart);
        writer.Write((ushort)0);
        writer.Flush();
        return output.ToArray();
    }

    /// <summary>The zip CRC-32 (reflected 0xEDB88320), so that other zip readers accept the files too.</summary>
    private static uint Crc32(byte[] data)
    {
        var crc = uint.MaxValue;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}

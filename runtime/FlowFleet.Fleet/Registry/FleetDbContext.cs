using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace FlowFleet.Fleet.Registry;

/// <summary>The fleet's tables in SQLite (<c>data/flowfleet.db</c>), created and upgraded by migrations.</summary>
public sealed class FleetDbContext(DbContextOptions<FleetDbContext> options) : DbContext(options)
{
    public DbSet<DeviceRecord> Devices => Set<DeviceRecord>();

    public DbSet<GroupRecord> Groups => Set<GroupRecord>();

    public DbSet<GroupMemberRecord> GroupMembers => Set<GroupMemberRecord>();

    public DbSet<DeviceEventRecord> Events => Set<DeviceEventRecord>();

    public DbSet<CommandAuditRecord> Audit => Set<CommandAuditRecord>();

    public DbSet<TelemetryRecord> Telemetry => Set<TelemetryRecord>();

    public DbSet<EnrollmentTokenRecord> EnrollmentTokens => Set<EnrollmentTokenRecord>();

    public DbSet<DataRowRecord> DataRows => Set<DataRowRecord>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<DeviceRecord>(e =>
        {
            e.ToTable("Devices");
            e.HasKey(d => d.Id);
            e.HasIndex(d => d.Admission);
        });
        modelBuilder.Entity<GroupRecord>(e =>
        {
            e.ToTable("Groups");
            e.HasIndex(g => g.Name).IsUnique();
        });
        modelBuilder.Entity<GroupMemberRecord>(e =>
        {
            e.ToTable("GroupMembers");
            e.HasKey(m => new { m.GroupId, m.DeviceId });
            e.HasIndex(m => m.DeviceId);
        });
        modelBuilder.Entity<DeviceEventRecord>(e =>
        {
            e.ToTable("DeviceEvents");
            e.HasIndex(x => new { x.DeviceId, x.Ts });
        });
        modelBuilder.Entity<CommandAuditRecord>(e =>
        {
            e.ToTable("CommandAudit");
            e.HasIndex(x => x.Ts);
        });
        modelBuilder.Entity<TelemetryRecord>(e =>
        {
            e.ToTable("Telemetry");
            e.HasIndex(x => new { x.DeviceId, x.Field, x.Ts });
            e.HasIndex(x => x.Ts);
        });
        modelBuilder.Entity<EnrollmentTokenRecord>(e =>
        {
            e.ToTable("EnrollmentTokens");
            e.HasKey(x => x.Token);
        });
        modelBuilder.Entity<DataRowRecord>(e =>
        {
            e.ToTable("DataRows");
            e.HasIndex(x => new { x.Table, x.Ts });
        });
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the context at design time.</summary>
public sealed class FleetDbContextDesignFactory : IDesignTimeDbContextFactory<FleetDbContext>
{
    public FleetDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<FleetDbContext>().UseSqlite("Data Source=design.db").Options);
}

public sealed class DeviceRecord
{
    public required string Id { get; set; }

    public string? Name { get; set; }

    public string? Model { get; set; }

    public string? App { get; set; }

    public int Gen { get; set; }

    public string? Mac { get; set; }

    public string? FirmwareVersion { get; set; }

    public string? Ip { get; set; }

    /// <summary>pending, accepted or denied.</summary>
    public string Admission { get; set; } = "pending";

    public string? InfoJson { get; set; }

    public string? ConfigJson { get; set; }

    public string? StatusJson { get; set; }

    public string? DesiredJson { get; set; }

    public string? MethodsJson { get; set; }

    /// <summary>Comma-separated tags.</summary>
    public string Tags { get; set; } = "";

    /// <summary>Password of the device's local API (for adoption / LAN calls), if known.</summary>
    public string? Password { get; set; }

    /// <summary>SHA-256 (hex) of the enrollment token bound to the device (issue 13: an id is not proof of identity).</summary>
    public string? TokenHash { get; set; }

    /// <summary>The address an accepted device last connected from: the proof for a device admitted without a token.</summary>
    public string? BoundAddress { get; set; }

    /// <summary>How the device last connected (websocket, mqtt, flow): the Devices page shows it after a restart too.</summary>
    public string? Transport { get; set; }

    public DateTime FirstSeen { get; set; }

    public DateTime LastSeen { get; set; }
}

public sealed class GroupRecord
{
    public int Id { get; set; }

    public required string Name { get; set; }

    public string? Description { get; set; }
}

public sealed class GroupMemberRecord
{
    public int GroupId { get; set; }

    public required string DeviceId { get; set; }
}

public sealed class DeviceEventRecord
{
    public long Id { get; set; }

    public required string DeviceId { get; set; }

    /// <summary>Unix time in milliseconds.</summary>
    public long Ts { get; set; }

    /// <summary>connect, disconnect, event, admission, ...</summary>
    public required string Kind { get; set; }

    public string? Component { get; set; }

    public string? Event { get; set; }

    public string? DataJson { get; set; }
}

public sealed class CommandAuditRecord
{
    public long Id { get; set; }

    /// <summary>Unix time in milliseconds.</summary>
    public long Ts { get; set; }

    public string? User { get; set; }

    public required string DeviceId { get; set; }

    public required string Method { get; set; }

    public string? ParamsJson { get; set; }

    public bool Ok { get; set; }

    public string? Error { get; set; }

    public double DurationMs { get; set; }
}

public sealed class TelemetryRecord
{
    public long Id { get; set; }

    public required string DeviceId { get; set; }

    /// <summary>Flattened status path, e.g. <c>switch:0.apower</c>.</summary>
    public required string Field { get; set; }

    /// <summary>Unix time in milliseconds.</summary>
    public long Ts { get; set; }

    public double Value { get; set; }
}

public sealed class EnrollmentTokenRecord
{
    public required string Token { get; set; }

    public string? Name { get; set; }

    public DateTime CreatedAt { get; set; }

    public bool Revoked { get; set; }

    public int Uses { get; set; }
}

/// <summary>A row written by the <c>db write</c> node into a named table.</summary>
public sealed class DataRowRecord
{
    public long Id { get; set; }

    public required string Table { get; set; }

    /// <summary>Unix time in milliseconds.</summary>
    public long Ts { get; set; }

    public required string Json { get; set; }
}

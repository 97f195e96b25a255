using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace FlowFleet.Fleet.Registry.Migrations;

/// <summary>Issue 13: the enrollment token that admitted a device is bound to its id (stored as a SHA-256).</summary>
[DbContext(typeof(FleetDbContext))]
[Migration("20261206230000_DeviceTokenBinding")]
public sealed class DeviceTokenBinding : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.AddColumn<string>(name: "TokenHash", table: "Devices", type: "TEXT", nullable: true);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.DropColumn(name: "TokenHash", table: "Devices");
    }
}

using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace FlowFleet.Fleet.Registry.Migrations;

/// <summary>Issue 13: the address a device admitted without a token last connected from (its proof of identity).</summary>
[DbContext(typeof(FleetDbContext))]
[Migration("20261207003000_DeviceAddressBinding")]
public sealed class DeviceAddressBinding : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.AddColumn<string>(name: "BoundAddress", table: "Devices", type: "TEXT", nullable: true);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.DropColumn(name: "BoundAddress", table: "Devices");
    }
}

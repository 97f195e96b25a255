using FlowFleet.Fleet.Registry;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace FlowFleet.Fleet.Postgres.Migrations;

/// <summary>Issue 18: how a device last connected (websocket, mqtt, flow), shown on the Devices page after a restart.</summary>
[DbContext(typeof(FleetDbContext))]
[Migration("20261207022000_DeviceTransport")]
public sealed class DeviceTransport : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.AddColumn<string>(name: "Transport", table: "Devices", type: "text", nullable: true);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.DropColumn(name: "Transport", table: "Devices");
    }
}

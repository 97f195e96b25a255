CREATE TABLE IF NOT EXISTS "__EFMigrationsHistory" (
    "MigrationId" TEXT NOT NULL CONSTRAINT "PK___EFMigrationsHistory" PRIMARY KEY,
    "ProductVersion" TEXT NOT NULL
);

BEGIN TRANSACTION;
CREATE TABLE "CommandAudit" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_CommandAudit" PRIMARY KEY AUTOINCREMENT,
    "Ts" INTEGER NOT NULL,
    "User" TEXT NULL,
    "DeviceId" TEXT NOT NULL,
    "Method" TEXT NOT NULL,
    "ParamsJson" TEXT NULL,
    "Ok" INTEGER NOT NULL,
    "Error" TEXT NULL,
    "DurationMs" REAL NOT NULL
);

CREATE TABLE "DataRows" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_DataRows" PRIMARY KEY AUTOINCREMENT,
    "Table" TEXT NOT NULL,
    "Ts" INTEGER NOT NULL,
    "Json" TEXT NOT NULL
);

CREATE TABLE "DeviceEvents" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_DeviceEvents" PRIMARY KEY AUTOINCREMENT,
    "DeviceId" TEXT NOT NULL,
    "Ts" INTEGER NOT NULL,
    "Kind" TEXT NOT NULL,
    "Component" TEXT NULL,
    "Event" TEXT NULL,
    "DataJson" TEXT NULL
);

CREATE TABLE "Devices" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_Devices" PRIMARY KEY,
    "Name" TEXT NULL,
    "Model" TEXT NULL,
    "App" TEXT NULL,
    "Gen" INTEGER NOT NULL,
    "Mac" TEXT NULL,
    "FirmwareVersion" TEXT NULL,
    "Ip" TEXT NULL,
    "Admission" TEXT NOT NULL,
    "InfoJson" TEXT NULL,
    "ConfigJson" TEXT NULL,
    "StatusJson" TEXT NULL,
    "DesiredJson" TEXT NULL,
    "MethodsJson" TEXT NULL,
    "Tags" TEXT NOT NULL,
    "Password" TEXT NULL,
    "FirstSeen" TEXT NOT NULL,
    "LastSeen" TEXT NOT NULL
);

CREATE TABLE "EnrollmentTokens" (
    "Token" TEXT NOT NULL CONSTRAINT "PK_EnrollmentTokens" PRIMARY KEY,
    "Name" TEXT NULL,
    "CreatedAt" TEXT NOT NULL,
    "Revoked" INTEGER NOT NULL,
    "Uses" INTEGER NOT NULL
);

CREATE TABLE "GroupMembers" (
    "GroupId" INTEGER NOT NULL,
    "DeviceId" TEXT NOT NULL,
    CONSTRAINT "PK_GroupMembers" PRIMARY KEY ("GroupId", "DeviceId")
);

CREATE TABLE "Groups" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_Groups" PRIMARY KEY AUTOINCREMENT,
    "Name" TEXT NOT NULL,
    "Description" TEXT NULL
);

CREATE TABLE "Telemetry" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_Telemetry" PRIMARY KEY AUTOINCREMENT,
    "DeviceId" TEXT NOT NULL,
    "Field" TEXT NOT NULL,
    "Ts" INTEGER NOT NULL,
    "Value" REAL NOT NULL
);

CREATE INDEX "IX_CommandAudit_Ts" ON "CommandAudit" ("Ts");

CREATE INDEX "IX_DataRows_Table_Ts" ON "DataRows" ("Table", "Ts");

CREATE INDEX "IX_DeviceEvents_DeviceId_Ts" ON "DeviceEvents" ("DeviceId", "Ts");

CREATE INDEX "IX_Devices_Admission" ON "Devices" ("Admission");

CREATE INDEX "IX_GroupMembers_DeviceId" ON "GroupMembers" ("DeviceId");

CREATE UNIQUE INDEX "IX_Groups_Name" ON "Groups" ("Name");

CREATE INDEX "IX_Telemetry_DeviceId_Field_Ts" ON "Telemetry" ("DeviceId", "Field", "Ts");

CREATE INDEX "IX_Telemetry_Ts" ON "Telemetry" ("Ts");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261124061018_Initial', '10.0.15');

COMMIT;

BEGIN TRANSACTION;
ALTER TABLE "Devices" ADD "TokenHash" TEXT NULL;

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261206230000_DeviceTokenBinding', '10.0.15');

COMMIT;

BEGIN TRANSACTION;
ALTER TABLE "Devices" ADD "BoundAddress" TEXT NULL;

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261207003000_DeviceAddressBinding', '10.0.15');

COMMIT;

BEGIN TRANSACTION;
ALTER TABLE "Devices" ADD "Transport" TEXT NULL;

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261207022000_DeviceTransport', '10.0.15');

COMMIT;


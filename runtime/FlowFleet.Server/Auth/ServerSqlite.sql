CREATE TABLE "Tokens" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_Tokens" PRIMARY KEY AUTOINCREMENT,
    "TokenHash" TEXT NOT NULL,
    "UserName" TEXT NOT NULL,
    "Scope" TEXT NOT NULL,
    "ClientId" TEXT NOT NULL,
    "ExpiresAt" INTEGER NOT NULL,
    "Revoked" INTEGER NOT NULL,
    "Stamp" TEXT NOT NULL
);


CREATE TABLE "Users" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_Users" PRIMARY KEY AUTOINCREMENT,
    "Name" TEXT NOT NULL,
    "PasswordHash" TEXT NOT NULL,
    "Role" TEXT NOT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "SecurityStamp" TEXT NOT NULL,
    "Groups" TEXT NULL
);


CREATE UNIQUE INDEX "IX_Tokens_TokenHash" ON "Tokens" ("TokenHash");


CREATE UNIQUE INDEX "IX_Users_Name" ON "Users" ("Name");



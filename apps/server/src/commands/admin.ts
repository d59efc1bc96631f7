/**
 * `ferry admin reset-password <name>` and `ferry admin disable-2fa <name>`: the way back in for an admin who lost
 * their password or phone, for whoever can run commands on Ferry's machine. Both leave an audit entry by
 * "command line" from "local", like the same changes made by an owner in the admin site.
 */
import { createAdminStore, type AdminRecord, type AdminStore } from '@ferry/db';
import { generatePassword } from '../passwords.js';
import { cliAuditEntry, CommandFailure, readConfig, withDb, type CommandIo } from './io.js';

/** Sets a generated password and prints it once; ends the admin's browser sessions, changes nothing else. */
export async function resetPassword(io: CommandIo, username: string): Promise<void> {
  await withDb(readConfig(io), async (db) => {
    const admins = createAdminStore(db);
    const admin = await existing(admins, username);
    const password = generatePassword();
    await admins.setPassword(admin.id, password, {
      signOut: 'all',
      audit: cliAuditEntry('admin.password-reset', admin.username),
    });
    io.out(`New password for admin "${admin.username}": ${password}\n`);
    io.out('It is shown only this once. Their browser sessions are signed out; their API tokens and two-factor sign-in stay.\n');
  });
}

/** Turns two-factor sign-in off and deletes the recovery codes; the password stays. */
export async function disableTwoFactor(io: CommandIo, username: string): Promise<void> {
  await withDb(readConfig(io), async (db) => {
    const admins = createAdminStore(db);
    const admin = await existing(admins, username);
    if (!admin.totpEnabled) {
      io.out(`Two-factor sign-in of admin "${admin.username}" was already off; nothing changed.\n`);
      return;
    }
    await admins.disableTotp(admin.id, cliAuditEntry('admin.totp-disable', admin.username));
    io.out(`Two-factor sign-in of admin "${admin.username}" is off and their recovery codes are deleted.\n`);
    io.out('They sign in with their password alone until they set it up again on their Account page.\n');
  });
}

async function existing(admins: AdminStore, username: string): Promise<AdminRecord> {
  const admin = await admins.getByName(username);
  if (admin) return admin;
  const names = (await admins.list()).map((a) => a.username);
  throw new CommandFailure(
    names.length === 0
      ? `There is no admin named "${username}"; there are no admins yet (Ferry creates the first one when it first starts).`
      : `There is no admin named "${username}". The admins are: ${names.join(', ')}.`,
  );
}

// The one IndexedDB database of Collateral, `collateral`, and its object stores:
//   keys    the member's private key sealed under the session key (keyring.js)
//   drafts  unsaved incidents, their sealed tier sealed under the org key (drafts.js)
// Every module opens it through here, so the version and the upgrade are in one place: a
// browser that still has version 1 (only `keys`) gets `drafts` added and keeps its keys.
// Quick exit (quickexit.js) and logout (keyring.js clearKeyring) delete the whole database.

export const DATABASE = "collateral";
export const VERSION = 2;
export const STORES = Object.freeze(["keys", "drafts"]);

export function openDatabase() {
  return new Promise((resolve, reject) => {
    let open;
    try {
      open = indexedDB.open(DATABASE, VERSION);
    } catch (error) {
      reject(error);
      return;
    }
    open.onupgradeneeded = () => {
      for (const name of STORES) {
        if (!open.result.objectStoreNames.contains(name)) open.result.createObjectStore(name);
      }
    };
    open.onsuccess = () => {
      const db = open.result;
      // Another tab (or quick exit) wants to upgrade or delete the database: let it.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    open.onerror = () => reject(open.error ?? new Error("IndexedDB cannot be opened"));
    open.onblocked = () => reject(new Error("IndexedDB is blocked by another tab"));
  });
}

/**
 * Run `action(store)` in one transaction on `storeName` and resolve with the result of the
 * request it returns (if any) once the transaction has completed.
 */
export async function withStore(storeName, mode, action) {
  const db = await openDatabase();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(storeName, mode);
      let result;
      const req = action(tx.objectStore(storeName));
      if (req) req.onsuccess = () => { result = req.result; };
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error ?? new Error("IndexedDB transaction failed"));
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
    });
  } finally {
    db.close();
  }
}

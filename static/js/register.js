// /register/<token>: a new account (or new keys for an account after a lost passphrase, when
// data-reset="1"); for the first coordinator of a new organisation also ODK v1 and the
// organisation's recovery key, whose code is shown once. See enrol.js and docs/accounts-api.md.

import { setupEnrolment } from "./enrol.js";

setupEnrolment();

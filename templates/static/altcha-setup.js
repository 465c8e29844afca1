/* global Worker */
// Loads the self-hosted ALTCHA widget (the CSP-friendly "external" build) with Polish texts and its
// PBKDF2 worker. A file, not an inline script: the CSP allows scripts from 'self' only.
import './altcha/altcha.js';
import './altcha/i18n-pl.js';

globalThis.$altcha.algorithms.set('PBKDF2/SHA-256', () => new Worker(new URL('./altcha/pbkdf2-worker.js', import.meta.url)));

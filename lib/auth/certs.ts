/**
 * Self-signed TLS certificates for a LAN: what `chat cert` writes, so a class
 * can turn TLS on without a certificate authority.
 *
 * The certificate is a server's own ("leaf"), not a CA: basic constraints
 * CA:false, key usage digitalSignature and keyEncipherment, extended key
 * usage serverAuth, and every host name and address the clients will type
 * as a subject alternative name (DNS names as DNS, addresses as IP; clients
 * check names against these, not the common name). Clients trust it by being
 * given the certificate itself (`chat join --tls --ca chat-cert.pem`).
 *
 * The key pair is RSA 2048, made by `node:crypto` (native, a fraction of a
 * second); the certificate is built and signed by node-forge (pure
 * JavaScript, no dependencies of its own, so pinning its version pins all
 * the code we embed; widely used and maintained). @peculiar/x509 was the
 * other candidate: it would allow ECDSA keys, but pulls in 17 packages and
 * a reflection polyfill. RSA 2048 is accepted by every TLS client.
 *
 * @module
 */

import { generateKeyPair, randomBytes } from "node:crypto";
import forgeModule from "node-forge";
import { DEFAULT_CERT_DAYS, MAX_CERT_DAYS } from "./cert_days.ts";

/** node-forge, typed by the declarations at the end of this file. */
const forge = forgeModule as unknown as Forge;

/** A name that cannot go into a certificate; the message says why. */
export class CertNameError extends Error {
  /** Creates the error for a person. */
  constructor(message: string) {
    super(message);
    this.name = "CertNameError";
  }
}

/** The names of a certificate, sorted by kind. */
export interface CertNames {
  /** Host names, in ASCII (an international name in its xn-- form). */
  dns: string[];
  /** IPv4 and IPv6 addresses, in their usual text form. */
  ip: string[];
}

/** What {@link makeCertificate} makes. */
export interface MadeCertificate {
  /** The certificate, PEM. */
  cert: string;
  /** Its private key, PKCS#8 PEM. Keep it secret. */
  key: string;
  /** The names it is valid for. */
  names: CertNames;
  /** When it stops being valid. */
  notAfter: Date;
}

/** Options of {@link makeCertificate}. */
export interface CertificateOptions {
  /** Host names and addresses clients will connect to; at least one. */
  names: string[];
  /** Days of validity. @default 365 */
  days?: number;
  /** The time to count from. @default now */
  now?: Date;
}

/**
 * Sorts `names` into DNS names and IP addresses, as they go into a
 * certificate: duplicates dropped, brackets around IPv6 removed,
 * international names in their ASCII form.
 *
 * @throws {CertNameError} for a name that is neither a host name nor an address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sortNames } from "./certs.ts";
 * assert.deepEqual(sortNames(["chat.lan", "192.168.1.20", "[::1]", "Chat.LAN"]), {
 *   dns: ["chat.lan"],
 *   ip: ["192.168.1.20", "::1"],
 * });
 * ```
 */
export function sortNames(names: string[]): CertNames {
  const dns: string[] = [];
  const ip: string[] = [];
  for (const raw of names) {
    const name = raw.trim();
    const address = ipAddress(name);
    if (address !== undefined) {
      if (!ip.includes(address)) ip.push(address);
      continue;
    }
    const host = hostName(name);
    if (!dns.includes(host)) dns.push(host);
  }
  if (dns.length + ip.length === 0) throw new CertNameError("Name at least one host or address");
  return { dns, ip };
}

/** An IP address in canonical text form, or undefined when `name` is not one. */
function ipAddress(name: string): string | undefined {
  if (/^\d+(\.\d+){3}$/.test(name)) {
    const parts = name.split(".").map(Number);
    if (parts.some((part) => part > 255) || /(^|\.)0\d/.test(name)) {
      throw new CertNameError(`${name} is not a valid IPv4 address`);
    }
    return parts.join(".");
  }
  if (/^[\d.]+$/.test(name)) throw new CertNameError(`${name} is not a valid IPv4 address`);
  const bracketed = /^\[(.*)\]$/.exec(name)?.[1];
  const inner = bracketed ?? name;
  // Hex digits and colons (and dots, for ::ffff:1.2.3.4) make an address;
  // anything else with a colon (chat.lan:7777) is a host name gone wrong.
  if (bracketed === undefined && !/^[\da-f:.]*:[\da-f:.]*(%.*)?$/i.test(name)) return undefined;
  if (inner.includes("%")) {
    throw new CertNameError(`${name}: an address with a zone (%...) cannot be in a certificate`);
  }
  try {
    // The URL parser validates and compresses IPv6 (2001:DB8:0::1 -> 2001:db8::1).
    return new URL(`http://[${inner}]/`).hostname.slice(1, -1);
  } catch {
    throw new CertNameError(`${name} is not a valid IPv6 address`);
  }
}

/** `name` as an ASCII DNS name (lower case, xn-- for international names). */
function hostName(name: string): string {
  let ascii: string;
  try {
    ascii = /[/?#@:\s\\]/.test(name) ? "" : new URL(`http://${name}/`).hostname;
  } catch {
    ascii = "";
  }
  ascii = ascii.replace(/\.$/, "");
  const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
  if (!ascii || ascii.length > 253 || !ascii.split(".").every((part) => label.test(part))) {
    throw new CertNameError(
      `${name} is not a host name (letters, digits and -, in parts separated by dots) ` +
        `or an IP address`,
    );
  }
  return ascii;
}

/**
 * Makes a self-signed server certificate and its key for `options.names`.
 *
 * @throws {CertNameError} for a name that cannot go into a certificate.
 * @throws {RangeError} for days outside 1 to {@link MAX_CERT_DAYS}.
 */
export async function makeCertificate(options: CertificateOptions): Promise<MadeCertificate> {
  const names = sortNames(options.names);
  const days = options.days ?? DEFAULT_CERT_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > MAX_CERT_DAYS) {
    throw new RangeError(`Days must be a whole number from 1 to ${MAX_CERT_DAYS}`);
  }
  const now = options.now ?? new Date();
  const { publicKey, privateKey } = await rsaKeyPair();

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  // 16 random bytes, the first below 0x80 so that the DER integer stays positive.
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) || 1;
  cert.serialNumber = serial.toString("hex");
  // An hour of slack for the clocks of the machines in the room.
  cert.validity.notBefore = new Date(now.getTime() - 3_600_000);
  const notAfter = new Date(now.getTime() + days * 86_400_000);
  cert.validity.notAfter = notAfter;
  const subject = [
    // A common name is limited to 64 characters; the SANs carry the real names.
    { name: "commonName", value: (names.dns[0] ?? names.ip[0]).slice(0, 64) },
    { name: "organizationName", value: "chat (self-signed)" },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: [
        ...names.dns.map((value) => ({ type: 2, value })),
        ...names.ip.map((ip) => ({ type: 7, ip })),
      ],
    },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKey, names, notAfter };
}

function rsaKeyPair(): Promise<{ publicKey: string; privateKey: string }> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      "rsa",
      {
        modulusLength: 2048,
        publicKeyEncoding: { type: "spki", format: "pem" },
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
      },
      (error, publicKey, privateKey) => error ? reject(error) : resolve({ publicKey, privateKey }),
    );
  });
}

// ---- the part of node-forge used here -------------------------------------------
// node-forge ships no types, and @types/node-forge would be embedded in the
// executable with @types/node (2.5 MB of declarations); these few lines say
// what this module relies on, and deno check holds the code above to them.

interface ForgeCertificate {
  publicKey: unknown;
  serialNumber: string;
  validity: { notBefore: Date; notAfter: Date };
  setSubject(attributes: { name: string; value: string }[]): void;
  setIssuer(attributes: { name: string; value: string }[]): void;
  setExtensions(extensions: Record<string, unknown>[]): void;
  sign(key: unknown, digest: unknown): void;
}

interface Forge {
  pki: {
    createCertificate(): ForgeCertificate;
    publicKeyFromPem(pem: string): unknown;
    privateKeyFromPem(pem: string): unknown;
    certificateToPem(cert: ForgeCertificate): string;
  };
  md: { sha256: { create(): unknown } };
}

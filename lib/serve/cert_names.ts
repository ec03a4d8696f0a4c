/**
 * What a TLS certificate is for: the host names and addresses in its subject
 * alternative names, which clients check the host they typed against (the
 * common name is ignored by modern clients, so it is ignored here too).
 *
 * @module
 */

import { X509Certificate } from "node:crypto";

/** The names a certificate is for, by kind. */
export interface CertificateNames {
  /** DNS names, lower case; `*.example.lan` covers one label under example.lan. */
  dns: string[];
  /** IP addresses, IPv6 in its compressed form. */
  ip: string[];
}

/**
 * The subject alternative names of the first certificate in `pem`, or
 * undefined when node:crypto cannot read it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { certificateNames } from "./cert_names.ts";
 * assert.equal(certificateNames("no PEM here"), undefined);
 * ```
 */
export function certificateNames(pem: string): CertificateNames | undefined {
  let altNames: string | undefined;
  try {
    altNames = new X509Certificate(pem).subjectAltName;
  } catch {
    return undefined;
  }
  const names: CertificateNames = { dns: [], ip: [] };
  // "DNS:chat.lan, IP Address:192.168.1.20, IP Address:::1"; node quotes an
  // entry holding a comma as a JSON string, which no usable host name does.
  for (const entry of altNames?.split(", ") ?? []) {
    const dns = /^DNS:(.+)$/.exec(entry)?.[1];
    if (dns !== undefined) names.dns.push(dns.toLowerCase());
    const ip = /^IP Address:(.+)$/.exec(entry)?.[1];
    if (ip !== undefined) names.ip.push(canonicalIp(ip));
  }
  return names;
}

/**
 * Whether a client connecting to `host` (a DNS name or an IP address) would
 * accept a certificate for `names`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { coveredBy } from "./cert_names.ts";
 * const names = { dns: ["*.school.lan"], ip: ["::1"] };
 * assert.equal(coveredBy(names, "room1.school.lan"), true);
 * assert.equal(coveredBy(names, "0:0:0:0:0:0:0:1"), true);
 * assert.equal(coveredBy(names, "school.lan"), false);
 * ```
 */
export function coveredBy(names: CertificateNames, host: string): boolean {
  if (isIp(host)) return names.ip.includes(canonicalIp(host));
  const wanted = host.toLowerCase().replace(/\.$/, "");
  return names.dns.some((name) => {
    if (!name.startsWith("*.")) return name === wanted;
    // A wildcard stands for exactly one whole label (RFC 6125, section 6.4.3).
    const dot = wanted.indexOf(".");
    return dot > 0 && wanted.slice(dot) === name.slice(1);
  });
}

/** Every name a certificate is for, as a person reads them: DNS names first. */
export function describeNames(names: CertificateNames): string {
  return [...names.dns, ...names.ip].join(", ");
}

function isIp(host: string): boolean {
  return /^\d+(\.\d+){3}$/.test(host) || host.includes(":");
}

/** IPv6 compressed and lower case (0:0:0:0:0:0:0:1 is ::1); IPv4 as it is. */
function canonicalIp(ip: string): string {
  if (!ip.includes(":")) return ip;
  try {
    return new URL(`http://[${ip.replace(/^\[|\]$/g, "")}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase();
  }
}

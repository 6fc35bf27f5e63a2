import { isIpOrCidr } from '../net/schema.js';
import { CidrSet } from '../net/ip.js';

/**
 * Allow/deny lists live in policies/lists/NAME.txt, one entry per line, `#` starts a
 * comment. Each known list has a kind that says what an entry must look like; an unknown
 * list file is an error (most likely a typo in its name).
 */
export type ListKind = 'ip' | 'domain' | 'address' | 'hostname';

export const LIST_KINDS: Readonly<Record<string, ListKind>> = {
  deny_ips: 'ip',
  allow_ips: 'ip',
  deny_sender_domains: 'domain',
  allow_sender_domains: 'domain',
  deny_senders: 'address',
  allow_senders: 'address',
  deny_helo: 'hostname',
  deny_recipients: 'address',
  valid_recipients: 'address',
  greylist_exempt_ips: 'ip',
  greylist_exempt_domains: 'domain',
};

export interface ListLine {
  /** 1-based line number in the file. */
  line: number;
  /** 1-based column where the entry starts. */
  col: number;
  value: string;
  comment: string;
}

/** Split a list file into entries, keeping where each one stands for error messages. */
export function parseListText(text: string): ListLine[] {
  const out: ListLine[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const body = hash >= 0 ? raw.slice(0, hash) : raw;
    const value = body.trim();
    if (!value) return;
    out.push({ line: i + 1, col: raw.indexOf(value) + 1, value, comment: hash >= 0 ? raw.slice(hash + 1).trim() : '' });
  });
  return out;
}

const DOMAIN_RE = /^(?=.{1,253}$)(\*\.)?([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?$/i;
const ADDRESS_RE = /^[^\s@<>]+@[^\s@<>]+$/;

/** Returns a message saying what was expected, or null when the entry fits the list. */
export function validateListEntry(kind: ListKind, value: string): string | null {
  switch (kind) {
    case 'ip':
      return isIpOrCidr(value) ? null : `"${value}" is not an IP address or CIDR`;
    case 'domain':
    case 'hostname':
      return DOMAIN_RE.test(value) ? null : `"${value}" is not a domain name`;
    case 'address':
      return ADDRESS_RE.test(value) || (value.startsWith('@') && DOMAIN_RE.test(value.slice(1)))
        ? null
        : `"${value}" is not an e-mail address (user@domain, or @domain)`;
  }
}

export function normalizeDomain(d: string): string {
  return d.trim().toLowerCase().replace(/\.$/, '');
}

/** A domain set that matches the domain itself and every subdomain of an entry. */
export class DomainSet {
  private readonly entries = new Set<string>();
  constructor(values: Iterable<string> = []) {
    for (const v of values) this.entries.add(normalizeDomain(v).replace(/^\*\./, ''));
  }
  get size(): number {
    return this.entries.size;
  }
  has(domain: string): boolean {
    let d = normalizeDomain(domain);
    for (;;) {
      if (this.entries.has(d)) return true;
      const dot = d.indexOf('.');
      if (dot < 0) return false;
      d = d.slice(dot + 1);
    }
  }
}

/** Addresses matched case-insensitively; `@domain` entries match the whole domain. */
export class AddressSet {
  private readonly addresses = new Set<string>();
  private readonly domains: DomainSet;
  constructor(values: Iterable<string> = []) {
    const domains: string[] = [];
    for (const v of values) {
      const lower = v.trim().toLowerCase();
      if (lower.startsWith('@')) domains.push(lower.slice(1));
      else this.addresses.add(lower);
    }
    this.domains = new DomainSet(domains);
  }
  has(address: string): boolean {
    const lower = address.toLowerCase();
    if (this.addresses.has(lower)) return true;
    const at = lower.lastIndexOf('@');
    return at >= 0 && this.domains.has(lower.slice(at + 1));
  }
}

export type ListMatcher = CidrSet | DomainSet | AddressSet;

export function compileList(kind: ListKind, values: readonly string[]): ListMatcher {
  switch (kind) {
    case 'ip':
      return new CidrSet(values);
    case 'domain':
    case 'hostname':
      return new DomainSet(values);
    case 'address':
      return new AddressSet(values);
  }
}

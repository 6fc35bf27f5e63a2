import { getDomain } from 'tldts';

/**
 * The registrable ("organizational") domain of a host name, by the Public Suffix List:
 * mail.example.co.uk → example.co.uk. Blocklists list these, and two addresses belong to
 * the same sender when theirs are equal. A name with no registrable part is returned as is.
 */
export function orgDomain(host: string): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  return getDomain(h, { allowPrivateDomains: false }) ?? h;
}

/** The whole catalogue, in Autobahn's order, plus case-id selection ("1.*", "6.4.1", "12.1.*"). */
import type { CaseDef } from '../case.js';
import { section1 } from './section1.js';
import { section2 } from './section2.js';
import { section3 } from './section3.js';
import { section4 } from './section4.js';
import { section5 } from './section5.js';
import { section6 } from './section6.js';
import { section7 } from './section7.js';
import { section9 } from './section9.js';
import { section10 } from './section10.js';
import { section12 } from './section12.js';
import { section13 } from './section13.js';

export function allCases(): CaseDef[] {
  return [...section1, ...section2, ...section3, ...section4, ...section5, ...section6, ...section7, ...section9, ...section10, ...section12(), ...section13()];
}

/** Autobahn-style patterns: "*" matches any run of characters; "6.4" also selects "6.4.*". */
function matches(id: string, pattern: string): boolean {
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return re.test(id) || (!pattern.includes('*') && id.startsWith(pattern + '.'));
}

export function selectCases(include: string[], exclude: string[]): CaseDef[] {
  return allCases().filter((c) =>
    (include.length === 0 || include.some((p) => matches(c.id, p))) && !exclude.some((p) => matches(c.id, p)));
}

import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PROPERTIES } from '../../fuzz/properties.js';

// A few hundred runs per property in the test suite; `npm run fuzz` runs them for minutes.
describe('property-based fuzzing of the core (fast-check)', () => {
  for (const [name, make] of Object.entries(PROPERTIES)) {
    it(name, () => {
      fc.assert(make(), { numRuns: name === 'encodeDecodeIdentity' ? 60 : 400 });
    });
  }
});

const preset = require('../../../jest.preset.js');

// With MONGODB_URI set the suite runs against that real MongoDB; the journal/SIGKILL test needs the
// devstack server itself, so its file is left out (it defines no tests in that mode).
const devstackOnly = process.env.MONGODB_URI ? ['/test/durability\\.test\\.ts$'] : [];

module.exports = {
  ...preset,
  displayName: 'devstack-mongo',
  rootDir: __dirname,
  testTimeout: 30000,
  testPathIgnorePatterns: [...preset.testPathIgnorePatterns, ...devstackOnly],
};

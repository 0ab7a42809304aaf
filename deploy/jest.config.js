module.exports = {
  ...require('../jest.preset.js'),
  displayName: 'deploy',
  rootDir: __dirname,
  // The production-layout test runs `npm ci --omit=dev` and starts a bundled service.
  testTimeout: 180_000,
};

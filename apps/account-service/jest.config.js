module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'account-service',
  rootDir: __dirname,
  testTimeout: 60_000,
};

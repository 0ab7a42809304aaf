module.exports = {
  ...require('../../../jest.preset.js'),
  displayName: 'devstack-mongo',
  rootDir: __dirname,
  testTimeout: 30000,
};

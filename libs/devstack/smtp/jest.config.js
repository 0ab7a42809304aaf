module.exports = {
  ...require('../../../jest.preset.js'),
  displayName: 'devstack-smtp',
  rootDir: __dirname,
  testTimeout: 30000,
};

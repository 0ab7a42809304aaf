module.exports = {
  ...require('../../../jest.preset.js'),
  displayName: 'devstack-kafka',
  rootDir: __dirname,
  testTimeout: 60000,
};

module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'account-service',
  rootDir: __dirname,
};

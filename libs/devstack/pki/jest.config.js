module.exports = {
  ...require('../../../jest.preset.js'),
  displayName: 'devstack-pki',
  rootDir: __dirname,
};

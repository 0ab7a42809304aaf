module.exports = {
  ...require('../../../jest.preset.js'),
  displayName: 'platform-mongo',
  rootDir: __dirname,
};

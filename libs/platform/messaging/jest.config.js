module.exports = {
  ...require('../../../jest.preset.js'),
  displayName: 'platform-messaging',
  rootDir: __dirname,
};

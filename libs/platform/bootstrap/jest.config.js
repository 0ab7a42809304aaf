module.exports = {
  ...require('../../../jest.preset.js'),
  displayName: 'platform-bootstrap',
  rootDir: __dirname,
};

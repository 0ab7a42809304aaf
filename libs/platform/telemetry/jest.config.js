module.exports = {
  ...require('../../../jest.preset.js'),
  displayName: 'platform-telemetry',
  rootDir: __dirname,
};

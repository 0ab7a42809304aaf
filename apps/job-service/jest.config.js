module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'job-service',
  rootDir: __dirname,
};
